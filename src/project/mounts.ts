/**
 * Mount entries of devbox.json and devcontainer.json, in the three forms Docker users write:
 *   "SRC:DST[:OPTS]"                       as `docker run -v` takes it
 *   "type=volume,source=NAME,target=DST"   as `docker run --mount` takes it (devcontainer.json's string form)
 *   { "type": "volume", "source": NAME, "target": DST, "readonly": true }   devcontainer.json's object form
 * A source that is not a path (/, ./, ../, ~) names a volume, as with Docker. Relative bind sources are
 * relative to the project root, as in Compose; `~` means the user's home, which is at the same path inside.
 */
import { isAbsolute, posix, resolve } from 'node:path';
import type { MountObject } from './devcontainer/metadata.js';
import type { MountConfig } from './project-config.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface MountContext {
  /** Relative bind sources resolve against it. */
  root: string;
  /** What `~` stands for, inside and outside (devbox keeps HOME at the same path). */
  home: string;
}

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** -v options devbox accepts without effect: SELinux relabelling and macOS consistency hints. */
const IGNORED_VOLUME_OPTIONS = new Set(['z', 'Z', 'cached', 'delegated', 'consistent']);
/** --mount keys accepted without effect: Docker Desktop's consistency hint, which devcontainer.json examples use. */
const IGNORED_MOUNT_KEYS = new Set(['consistency']);

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

function expandHome(path: string, home: string): string {
  return path === '~' ? home : path.startsWith('~/') ? posix.join(home, path.slice(2)) : path;
}

function isPathSource(source: string): boolean {
  return source.startsWith('/') || source.startsWith('./') || source.startsWith('../') || source === '.' || source === '~' || source.startsWith('~/');
}

/** Checks and normalizes one mount; shared by the three syntaxes. */
export function normalizeMount(mount: MountObject, context: MountContext): Parsed<MountConfig> {
  const target = expandHome(mount.target, context.home);
  if (!isAbsolute(target)) return fail(`target "${mount.target}" must be an absolute path (or start with ~/)`);
  const type = mount.type ?? (mount.source === undefined || !isPathSource(mount.source) ? 'volume' : 'bind');
  const readonly = mount.readonly ?? false;
  if (type === 'tmpfs') {
    if (mount.source !== undefined) return fail('a tmpfs mount takes no source');
    return { ok: true, value: { type, target: posix.normalize(target) } };
  }
  if (mount.source === undefined) return fail(`a ${type} mount needs a source (anonymous volumes are not kept by devbox: name the volume)`);
  if (type === 'volume') {
    if (!VOLUME_NAME.test(mount.source)) return fail(`volume name "${mount.source}" may only contain letters, digits, _ . - (a host path needs type=bind)`);
    return { ok: true, value: { type, source: mount.source, target: posix.normalize(target), readonly } };
  }
  const source = resolve(context.root, expandHome(mount.source, context.home));
  return { ok: true, value: { type, source, target: posix.normalize(target), readonly } };
}

/** `--mount` syntax: comma-separated key=value pairs. */
function parseMountFlag(spec: string, context: MountContext): Parsed<MountConfig> {
  const mount: Partial<MountObject> = {};
  for (const field of spec.split(',')) {
    const [key, ...rest] = field.split('=');
    const value = rest.join('=');
    const hasValue = rest.length > 0;
    switch (key) {
      case 'type':
        if (value !== 'bind' && value !== 'volume' && value !== 'tmpfs') return fail(`type "${value}" is not bind, volume or tmpfs`);
        mount.type = value;
        break;
      case 'source':
      case 'src':
        mount.source = value;
        break;
      case 'target':
      case 'destination':
      case 'dst':
        mount.target = value;
        break;
      case 'readonly':
      case 'ro':
        if (hasValue && !['true', 'false', '1', '0'].includes(value)) return fail(`${key}=${value}: use ${key}, ${key}=true or ${key}=false`);
        mount.readonly = !hasValue || value === 'true' || value === '1';
        break;
      default:
        if (!IGNORED_MOUNT_KEYS.has(key)) return fail(`"${key}" is not a mount option devbox knows (type, source, target, readonly)`);
    }
  }
  if (!mount.target) return fail('needs target=PATH');
  // Docker's --mount defaults to a volume, unlike -v, whatever the source looks like.
  return normalizeMount({ type: mount.type ?? 'volume', source: mount.source || undefined, target: mount.target, readonly: mount.readonly }, context);
}

/** `-v` syntax: SRC:DST[:OPTS]. */
function parseVolumeFlag(spec: string, context: MountContext): Parsed<MountConfig> {
  const parts = spec.split(':');
  if (parts.length === 1) return fail('anonymous volumes are not kept by devbox: write NAME:PATH or SRC:DST');
  if (parts.length > 3 || !parts[0] || !parts[1]) return fail('expected SRC:DST[:ro]');
  let readonly = false;
  for (const option of (parts[2] ?? '').split(',').filter(Boolean)) {
    if (option === 'ro' || option === 'rw') readonly = option === 'ro';
    else if (!IGNORED_VOLUME_OPTIONS.has(option)) return fail(`unknown option "${option}" (use ro or rw)`);
  }
  return normalizeMount({ source: parts[0], target: parts[1], readonly }, context);
}

export function parseMountString(spec: string, context: MountContext): Parsed<MountConfig> {
  return /^[a-z-]+=/.test(spec) ? parseMountFlag(spec, context) : parseVolumeFlag(spec, context);
}
