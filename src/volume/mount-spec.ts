/**
 * The one parser for mounts, in every spelling Docker users write them:
 *   -v [SRC:]DST[:OPTS]                         `docker run -v`; no SRC: an anonymous volume
 *   --mount type=bind|volume|tmpfs,src=,dst=,…  `docker run --mount`, and devcontainer.json's string form
 *   --tmpfs DST[:OPTS]                          `docker run --tmpfs`
 *   { type, source, target, readonly }          devcontainer.json's object form
 * `devbox run`'s options and a project's `mounts` (devbox.json, devcontainer.json) both come here, so an entry
 * means the same in either place. Pure: whether a bind source exists is checked when the container starts.
 */
import { isAbsolute, posix, resolve } from 'node:path';
import type { BindPropagation } from '../runtime/spec.js';
import { DevboxError } from '../util/errors.js';

const PROPAGATIONS = ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared'];

export interface BindMountSpec {
  type: 'bind';
  /** Absolute host path. */
  source: string;
  target: string;
  readonly: boolean;
  propagation?: BindPropagation;
}

export interface VolumeMountSpec {
  type: 'volume';
  /** The volume's name; undefined for an anonymous volume (a new one for each container). */
  source?: string;
  target: string;
  readonly: boolean;
  /** Do not fill a new volume with what the image has at the target (`-v NAME:DST:nocopy`, `volume-nocopy`). */
  nocopy?: boolean;
}

export interface TmpfsMountSpec {
  type: 'tmpfs';
  target: string;
  readonly: boolean;
  /** Mount options besides ro/rw, defaults included (`nosuid`, `size=67108864`, `mode=1777` …). */
  options: string[];
}

export type MountSpec = BindMountSpec | VolumeMountSpec | TmpfsMountSpec;

/** devcontainer.json's object form (and devbox.json's). */
export interface MountObject {
  type?: 'bind' | 'volume' | 'tmpfs';
  source?: string;
  target: string;
  readonly?: boolean;
}

export interface MountContext {
  /** Relative bind sources (`./data`) resolve against it: the current directory, or a project's root. */
  base: string;
  /** What `~` at the start of a path stands for; undefined leaves `~` alone (the shell expands it for -v). */
  home?: string;
}

/** A mount that cannot be parsed: `reason` says why, without the entry (callers add where it came from). */
export class MountSpecError extends DevboxError {
  constructor(readonly reason: string) {
    super(reason, { kind: 'usage' });
  }
}

/** Docker's rule for local volume names. */
export const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** -v options without effect here: SELinux relabelling, Docker Desktop's consistency hints, a recursive bind (always). */
const IGNORED_VOLUME_OPTIONS = new Set(['z', 'Z', 'cached', 'delegated', 'consistent', 'rbind']);
/** --mount keys without effect here: Docker Desktop's consistency hint (devcontainer.json examples use it). */
const IGNORED_MOUNT_KEYS = new Set(['consistency']);
/** tmpfs flags the kernel takes, and the values a key=value option may have. */
const TMPFS_FLAGS = new Set(['exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev', 'atime', 'noatime', 'relatime', 'norelatime', 'strictatime']);
const TMPFS_VALUES: Record<string, RegExp> = {
  size: /^\d+[kmgKMG%]?$/,
  nr_inodes: /^\d+[kmgKMG%]?$/,
  nr_blocks: /^\d+[kmgKMG%]?$/,
  mode: /^[0-7]{1,4}$/,
  uid: /^\d+$/,
  gid: /^\d+$/,
};

function fail(reason: string): never {
  throw new MountSpecError(reason);
}

function expandHome(path: string, home: string | undefined): string {
  if (home === undefined) return path;
  return path === '~' ? home : path.startsWith('~/') ? posix.join(home, path.slice(2)) : path;
}

/** A bind source is a path; anything else names a volume (Docker's rule, with ./ ../ and ~ as paths). */
function isPathSource(source: string, context: MountContext): boolean {
  if (source.startsWith('/') || source === '.' || source === '..' || source.startsWith('./') || source.startsWith('../')) return true;
  return context.home !== undefined && (source === '~' || source.startsWith('~/'));
}

function targetPath(target: string | undefined, context: MountContext): string {
  if (!target) fail('a mount needs a target (the path inside the container)');
  const expanded = expandHome(target, context.home);
  if (!isAbsolute(expanded)) fail(`target "${target}" must be an absolute path${context.home === undefined ? '' : ' (or start with ~/)'}`);
  if (posix.normalize(expanded) === '/') fail('the target cannot be /');
  return posix.normalize(expanded);
}

function volumeName(name: string): string {
  if (!VOLUME_NAME.test(name)) {
    fail(
      `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed (a host directory needs an absolute path)`,
    );
  }
  return name;
}

function bindSource(source: string, context: MountContext): string {
  return resolve(context.base, expandHome(source, context.home));
}

function checkPropagation(mode: string): BindPropagation {
  if (!PROPAGATIONS.includes(mode)) fail(`invalid bind propagation "${mode}" (use private, rprivate, slave or rslave)`);
  if (mode === 'shared' || mode === 'rshared') {
    fail(`bind propagation "${mode}" is not possible rootless: mounts made in a user namespace never reach the host (use rslave)`);
  }
  return mode as BindPropagation;
}

/** `-v` syntax: [SRC:]DST[:OPTS]. */
export function parseVolumeFlag(spec: string, context: MountContext): MountSpec {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p, i) => !p && i < parts.length - 1) || !parts[parts.length - 1]) fail('expected [SRC:]DST[:OPTIONS]');
  // One part is an anonymous volume's target; two are always SRC:DST (Docker refuses `/data:ro`).
  if (parts.length === 1) return { type: 'volume', target: targetPath(parts[0], context), readonly: false };
  const [source, target, optionText] = parts;
  const isBind = isPathSource(source, context);
  let readonly = false;
  let nocopy = false;
  let propagation: BindPropagation | undefined;
  for (const option of (optionText ?? '').split(',').filter(Boolean)) {
    if (option === 'ro' || option === 'rw') readonly = option === 'ro';
    else if (option === 'nocopy' && !isBind) nocopy = true;
    else if (PROPAGATIONS.includes(option) && isBind) propagation = checkPropagation(option);
    else if (!IGNORED_VOLUME_OPTIONS.has(option)) fail(`invalid mode: ${option} (use ro, rw${isBind ? ', rslave' : ', nocopy'})`);
  }
  const dest = targetPath(target, context);
  if (isBind) return { type: 'bind', source: bindSource(source, context), target: dest, readonly, ...(propagation ? { propagation } : {}) };
  return { type: 'volume', source: volumeName(source), target: dest, readonly, ...(nocopy ? { nocopy } : {}) };
}

function booleanValue(key: string, value: string | undefined): boolean {
  if (value === undefined || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return fail(`invalid value for ${key}: "${value}" (use ${key}, ${key}=true or ${key}=false)`);
}

/** A size as Docker takes it (`67108864`, `64m`, `1.5g`) in bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text);
  if (!m) return undefined;
  const power = ['', 'k', 'm', 'g', 't'].indexOf(m[2].toLowerCase());
  return Math.floor(Number(m[1]) * 1024 ** power);
}

function tmpfsMode(text: string): string {
  if (!/^[0-7]{1,4}$/.test(text)) fail(`invalid tmpfs mode "${text}": give an octal mode such as 1777`);
  return `mode=${text.replace(/^0+(?=.)/, '')}`;
}

/** `--mount` syntax: comma-separated key=value pairs; Docker's default type is volume, whatever the source looks like. */
export function parseMountFlag(spec: string, context: MountContext): MountSpec {
  const fields = new Map<string, string | undefined>();
  for (const field of spec.split(',')) {
    if (!field) fail('empty field (fields are separated by one comma)');
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    fields.set(key, eq < 0 ? undefined : field.slice(eq + 1));
  }
  return parseMountFields(fields, context);
}

/**
 * `--mount`'s keys and values (lower-case keys; a key alone has value undefined), from the flag or from another
 * spelling of the same thing (Compose's long volume syntax).
 */
export function parseMountFields(fields: ReadonlyMap<string, string | undefined>, context: MountContext): MountSpec {
  const type = fields.get('type') ?? 'volume';
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') fail(`invalid mount type "${type}" (use bind, volume or tmpfs)`);
  let source: string | undefined;
  let target: string | undefined;
  let readonly = false;
  const extra = new Map<string, string | undefined>();
  for (const [key, value] of fields) {
    if (key === 'type') continue;
    if (key === 'source' || key === 'src') source = value || undefined;
    else if (key === 'target' || key === 'destination' || key === 'dst') target = value;
    else if (key === 'readonly' || key === 'ro') readonly = booleanValue(key, value);
    else if (!IGNORED_MOUNT_KEYS.has(key)) extra.set(key, value);
  }
  const allowed: Record<typeof type, string[]> = {
    bind: ['bind-propagation'],
    volume: ['volume-nocopy'],
    tmpfs: ['tmpfs-size', 'tmpfs-mode'],
  };
  for (const key of extra.keys()) {
    if (!allowed[type].includes(key)) {
      const known = ['type', 'source', 'target', 'readonly', ...allowed[type]].join(', ');
      fail(`unexpected key "${key}" for a ${type} mount (keys: ${known})`);
    }
  }
  const dest = targetPath(target, context);
  switch (type) {
    case 'bind': {
      if (source === undefined) fail('a bind mount needs source=PATH');
      const propagation = extra.has('bind-propagation') ? checkPropagation(extra.get('bind-propagation') ?? '') : undefined;
      return { type, source: bindSource(source, context), target: dest, readonly, ...(propagation ? { propagation } : {}) };
    }
    case 'volume': {
      const nocopy = extra.has('volume-nocopy') && booleanValue('volume-nocopy', extra.get('volume-nocopy'));
      return { type, ...(source === undefined ? {} : { source: volumeName(source) }), target: dest, readonly, ...(nocopy ? { nocopy } : {}) };
    }
    case 'tmpfs': {
      if (source !== undefined) fail('a tmpfs mount takes no source');
      const options = ['nosuid', 'nodev'];
      const size = extra.get('tmpfs-size');
      if (size !== undefined) {
        const bytes = parseSize(size);
        if (bytes === undefined) fail(`invalid tmpfs-size "${size}" (examples: 67108864, 64m)`);
        options.push(`size=${bytes}`);
      }
      options.push(tmpfsMode(extra.get('tmpfs-mode') ?? '1777'));
      return { type, target: dest, readonly, options };
    }
  }
}

/** `--tmpfs` syntax: DST[:OPTIONS], the options as mount(8) takes them; Docker's defaults noexec,nosuid,nodev. */
export function parseTmpfsFlag(spec: string): TmpfsMountSpec {
  const colon = spec.indexOf(':');
  const target = targetPath(colon < 0 ? spec : spec.slice(0, colon), { base: '/' });
  const flags = new Map([
    ['exec', 'noexec'],
    ['suid', 'nosuid'],
    ['dev', 'nodev'],
  ]);
  const values = new Map<string, string>([['mode', '1777']]);
  const other: string[] = [];
  let readonly = false;
  for (const option of colon < 0
    ? []
    : spec
        .slice(colon + 1)
        .split(',')
        .filter(Boolean)) {
    const eq = option.indexOf('=');
    if (eq >= 0) {
      const key = option.slice(0, eq);
      const value = option.slice(eq + 1);
      if (!TMPFS_VALUES[key]?.test(value))
        fail(`invalid tmpfs option "${option}" (${key in TMPFS_VALUES ? 'bad value' : `known: ${Object.keys(TMPFS_VALUES).join(', ')}`})`);
      values.set(key, value);
    } else if (option === 'ro' || option === 'rw') readonly = option === 'ro';
    else if (flags.has(option.replace(/^no/, ''))) flags.set(option.replace(/^no/, ''), option);
    else if (TMPFS_FLAGS.has(option)) other.push(option);
    else fail(`invalid tmpfs option "${option}"`);
  }
  return { type: 'tmpfs', target, readonly, options: [...flags.values(), ...other, ...[...values].map(([k, v]) => `${k}=${v}`)] };
}

/** devcontainer.json's object form; with no type, a source that is a path is a bind, anything else a volume. */
export function parseMountObject(mount: MountObject, context: MountContext): MountSpec {
  const source = mount.source;
  const type = mount.type ?? (source === undefined || !isPathSource(source, context) ? 'volume' : 'bind');
  const target = targetPath(mount.target, context);
  const readonly = mount.readonly ?? false;
  if (type === 'tmpfs') {
    if (source !== undefined) fail('a tmpfs mount takes no source');
    return { type, target, readonly, options: ['nosuid', 'nodev', 'mode=1777'] };
  }
  if (type === 'bind') {
    if (source === undefined) fail('a bind mount needs a source');
    return { type, source: bindSource(source, context), target, readonly };
  }
  return { type, ...(source === undefined ? {} : { source: volumeName(source) }), target, readonly };
}

/** A mount written as one string in a config file: the --mount form when it starts with key=, else the -v form. */
export function parseMountString(spec: string, context: MountContext): MountSpec {
  return /^[a-z-]+=/i.test(spec) ? parseMountFlag(spec, context) : parseVolumeFlag(spec, context);
}
