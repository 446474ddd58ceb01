/**
 * Dev Containers metadata: the properties a devcontainer.json, a Feature's devcontainer-feature.json and an
 * image's `devcontainer.metadata` label can all carry, and the spec's merge of them (devcontainers/spec
 * docs/specs/devcontainer-reference.md, "Merge Logic"): the image's entries first, then the Features'
 * (install order), devcontainer.json last. The label is someone else's input: a property of the wrong type
 * is dropped with a word, never trusted.
 */
import { parseMountObject, parseMountString, type MountObject } from '../../volume/mount-spec.js';
import { validateAgainstSchema, type JsonSchema } from '../schema-validate.js';

/** A lifecycle command as written: a string, an array, or named ones of either. */
export type LifecycleValue = string | string[] | Record<string, string | string[]>;

export const METADATA_LABEL = 'devcontainer.metadata';

/** The lifecycle hooks that run inside the sandbox, in the spec's order. */
export const CONTAINER_HOOKS = ['onCreateCommand', 'updateContentCommand', 'postCreateCommand', 'postStartCommand', 'postAttachCommand'] as const;
export type ContainerHook = (typeof CONTAINER_HOOKS)[number];
/** The hooks that run once per fresh sandbox. */
export const CREATE_HOOKS = ['onCreateCommand', 'updateContentCommand', 'postCreateCommand'] as const satisfies readonly ContainerHook[];
/** waitFor's values: the last command to finish before the user gets a shell. */
export const WAIT_FOR = ['initializeCommand', ...CONTAINER_HOOKS] as const;
export type WaitFor = (typeof WAIT_FOR)[number];
export const USER_ENV_PROBES = ['none', 'interactiveShell', 'loginShell', 'loginInteractiveShell'] as const;
export type UserEnvProbe = (typeof USER_ENV_PROBES)[number];
export const ON_AUTO_FORWARD = ['notify', 'openBrowser', 'openBrowserOnce', 'openPreview', 'silent', 'ignore'] as const;

export interface PortAttributes {
  label?: string;
  onAutoForward?: (typeof ON_AUTO_FORWARD)[number];
  protocol?: 'http' | 'https';
  requireLocalPort?: boolean;
  elevateIfNeeded?: boolean;
}

export interface HostRequirements {
  cpus?: number;
  /** "4gb", "512mb", … */
  memory?: string;
  storage?: string;
  gpu?: boolean | 'optional' | { cores?: number; memory?: string };
}

/** One entry of the metadata: an image's, a Feature's (with its id) or devcontainer.json's. */
export interface MetadataEntry {
  id?: string;
  init?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  securityOpt?: string[];
  entrypoint?: string;
  mounts?: (string | MountObject)[];
  customizations?: Record<string, unknown>;
  onCreateCommand?: LifecycleValue;
  updateContentCommand?: LifecycleValue;
  postCreateCommand?: LifecycleValue;
  postStartCommand?: LifecycleValue;
  postAttachCommand?: LifecycleValue;
  waitFor?: WaitFor;
  remoteUser?: string;
  containerUser?: string;
  userEnvProbe?: UserEnvProbe;
  remoteEnv?: Record<string, string | null>;
  containerEnv?: Record<string, string>;
  overrideCommand?: boolean;
  portsAttributes?: Record<string, PortAttributes>;
  otherPortsAttributes?: PortAttributes;
  forwardPorts?: (number | string)[];
  shutdownAction?: 'none' | 'stopContainer' | 'stopCompose';
  updateRemoteUserUID?: boolean;
  hostRequirements?: HostRequirements;
}

const nonEmpty = { type: 'string', minLength: 1 } as const;
const stringList = { type: 'array', items: { type: 'string' } } as const;
const size = { type: 'string', pattern: '^\\d+([tgmk]b)?$', patternErrorMessage: 'a size such as "8gb" or "512mb"' } as const;
const portAttributes: JsonSchema = {
  type: 'object',
  properties: {
    label: { type: 'string' },
    onAutoForward: { enum: [...ON_AUTO_FORWARD] },
    protocol: { enum: ['http', 'https'] },
    requireLocalPort: { type: 'boolean' },
    elevateIfNeeded: { type: 'boolean' },
  },
};

/** The metadata properties with the types the spec gives them; `lifecycleCommand` and `mount` are $defs of the caller's schema. */
export const METADATA_PROPERTIES: Record<keyof MetadataEntry, JsonSchema> = {
  id: { type: 'string' },
  init: { type: 'boolean' },
  privileged: { type: 'boolean' },
  capAdd: stringList,
  securityOpt: stringList,
  entrypoint: { type: 'string' },
  mounts: { type: 'array', items: { $ref: '#/$defs/mount' } },
  customizations: { type: 'object' },
  ...(Object.fromEntries(CONTAINER_HOOKS.map((hook) => [hook, { $ref: '#/$defs/lifecycleCommand' }])) as Record<ContainerHook, JsonSchema>),
  waitFor: { enum: [...WAIT_FOR] },
  remoteUser: nonEmpty,
  containerUser: nonEmpty,
  userEnvProbe: { enum: [...USER_ENV_PROBES] },
  remoteEnv: { type: 'object', additionalProperties: { type: ['string', 'null'] } },
  containerEnv: { type: 'object', additionalProperties: { type: 'string' } },
  overrideCommand: { type: 'boolean' },
  portsAttributes: { type: 'object', additionalProperties: portAttributes },
  otherPortsAttributes: portAttributes,
  forwardPorts: {
    type: 'array',
    items: {
      anyOf: [
        { type: 'integer', minimum: 1, maximum: 65535 },
        { type: 'string', pattern: '^[^:\\s]+:[0-9]+$', patternErrorMessage: 'a port number or "HOST:PORT"' },
      ],
    },
  },
  shutdownAction: { enum: ['none', 'stopContainer', 'stopCompose'] },
  updateRemoteUserUID: { type: 'boolean' },
  hostRequirements: {
    type: 'object',
    properties: {
      cpus: { type: 'integer', minimum: 1, maximum: 4096 },
      memory: size,
      storage: size,
      gpu: { anyOf: [{ type: 'boolean' }, { enum: ['optional'] }, { type: 'object' }] },
    },
  },
};

/**
 * The entries of a `devcontainer.metadata` label (a JSON array of entries, or one entry). Whatever is not
 * what the spec says is left out, each problem in one line naming `where` the label is.
 */
export function parseMetadataLabel(text: string, where: string, defs: Record<string, JsonSchema>): { entries: MetadataEntry[]; problems: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { entries: [], problems: [`the ${METADATA_LABEL} label of ${where} is not JSON: devbox ignores it`] };
  }
  const problems: string[] = [];
  const entries: MetadataEntry[] = [];
  for (const [index, item] of (Array.isArray(value) ? value : [value]).entries()) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      problems.push(`entry ${index} of the ${METADATA_LABEL} label of ${where} is not an object: devbox ignores it`);
      continue;
    }
    const entry: Record<string, unknown> = {};
    for (const [key, property] of Object.entries(item as Record<string, unknown>)) {
      const schema = METADATA_PROPERTIES[key as keyof MetadataEntry];
      if (!schema) continue; // a property of a newer spec, or another tool's
      const violation = validateAgainstSchema(property, { $defs: defs, ...schema });
      if (violation) problems.push(`the ${METADATA_LABEL} label of ${where}: "${key}" ${violation.message}: devbox ignores it`);
      else entry[key] = property;
    }
    entries.push(entry as MetadataEntry);
  }
  return { entries, problems };
}

/** A lifecycle command with where it came from: "devcontainer.json", "feature ID", "image NAME". */
export interface HookCommand {
  origin: string;
  command: LifecycleValue;
}

/** An entry with the words that name it in messages. */
export interface OriginEntry {
  origin: string;
  entry: MetadataEntry;
}

/** The result of the spec's merge. */
export interface MergedMetadata {
  init: boolean;
  privileged: { origin: string }[];
  capAdd: string[];
  securityOpt: string[];
  entrypoints: { origin: string; entrypoint: string }[];
  mounts: { origin: string; mount: string | MountObject }[];
  /** Per tool, every entry's customizations in order ("merging is left to the tools"). */
  customizations: Record<string, unknown[]>;
  hooks: Record<ContainerHook, HookCommand[]>;
  waitFor?: WaitFor;
  remoteUser?: string;
  containerUser?: string;
  userEnvProbe?: UserEnvProbe;
  remoteEnv: Record<string, string | null>;
  containerEnv: Record<string, string>;
  overrideCommand?: boolean;
  portsAttributes: Record<string, PortAttributes>;
  otherPortsAttributes?: PortAttributes;
  forwardPorts: (number | string)[];
  shutdownAction?: MetadataEntry['shutdownAction'];
  updateRemoteUserUID?: boolean;
  /** Sizes in bytes; gpu: a GPU is required (not when `optional`). */
  hostRequirements?: { cpus?: number; memory?: number; storage?: number; gpu?: boolean };
}

/** "4gb" → bytes, as the reference implementation reads sizes (no unit: bytes). */
export function parseSize(text: string): number {
  const match = /^(\d+)([tgmk]b)?$/.exec(text);
  if (!match) return 0;
  const unit = match[2] ? { t: 2 ** 40, g: 2 ** 30, m: 2 ** 20, k: 2 ** 10 }[match[2][0] as 't' | 'g' | 'm' | 'k'] : 1;
  return Number(match[1]) * unit;
}

/** The value of the last entry that has one ("last value wins"). */
function last<K extends keyof MetadataEntry>(entries: readonly OriginEntry[], key: K): MetadataEntry[K] | undefined {
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i].entry[key] !== undefined) return entries[i].entry[key];
  return undefined;
}

function union(lists: (readonly string[] | undefined)[]): string[] {
  return [...new Set(lists.flatMap((list) => list ?? []))];
}

/** Where a mount goes, for "conflicts: last source wins"; one that cannot be parsed is its own (it is refused later). */
function mountTarget(mount: string | MountObject): string {
  const context = { base: '/' };
  try {
    return (typeof mount === 'string' ? parseMountString(mount, context) : parseMountObject(mount, context)).target;
  } catch {
    return typeof mount === 'string' ? mount : mount.target;
  }
}

/** forwardPorts: a union, `N` and `"localhost:N"` being the same port. */
function mergeForwardPorts(entries: readonly OriginEntry[]): (number | string)[] {
  const keys = entries.flatMap(({ entry }) => entry.forwardPorts ?? []).map((port) => (typeof port === 'number' ? `localhost:${port}` : port));
  return [...new Set(keys)].map((port) => (/^localhost:\d+$/.test(port) ? Number(port.slice('localhost:'.length)) : port));
}

function maxOf(values: number[]): number | undefined {
  const max = Math.max(0, ...values);
  return max > 0 ? max : undefined;
}

export function mergeMetadata(entries: readonly OriginEntry[]): MergedMetadata {
  const customizations: Record<string, unknown[]> = {};
  for (const { entry } of entries) {
    for (const [tool, value] of Object.entries(entry.customizations ?? {})) customizations[tool] = [...(customizations[tool] ?? []), value];
  }
  const mounts = entries.flatMap(({ origin, entry }) => (entry.mounts ?? []).map((mount) => ({ origin, mount })));
  const seen = new Set<string>();
  const lastWins = mounts
    .reverse()
    .filter(({ mount }) => {
      const target = mountTarget(mount);
      if (seen.has(target)) return false;
      seen.add(target);
      return true;
    })
    .reverse();
  const hooks = Object.fromEntries(
    CONTAINER_HOOKS.map((hook) => [hook, entries.flatMap(({ origin, entry }) => (entry[hook] === undefined ? [] : [{ origin, command: entry[hook]! }]))]),
  ) as Record<ContainerHook, HookCommand[]>;
  const cpus = maxOf(entries.map(({ entry }) => entry.hostRequirements?.cpus ?? 0));
  const memory = maxOf(entries.map(({ entry }) => parseSize(entry.hostRequirements?.memory ?? '0')));
  const storage = maxOf(entries.map(({ entry }) => parseSize(entry.hostRequirements?.storage ?? '0')));
  const gpu = entries.some(({ entry }) => entry.hostRequirements?.gpu === true || typeof entry.hostRequirements?.gpu === 'object');
  return {
    init: entries.some(({ entry }) => entry.init),
    privileged: entries.filter(({ entry }) => entry.privileged).map(({ origin }) => ({ origin })),
    capAdd: union(entries.map(({ entry }) => entry.capAdd)),
    securityOpt: union(entries.map(({ entry }) => entry.securityOpt)),
    entrypoints: entries.flatMap(({ origin, entry }) => (entry.entrypoint ? [{ origin, entrypoint: entry.entrypoint }] : [])),
    mounts: lastWins,
    customizations,
    hooks,
    waitFor: last(entries, 'waitFor'),
    remoteUser: last(entries, 'remoteUser'),
    containerUser: last(entries, 'containerUser'),
    userEnvProbe: last(entries, 'userEnvProbe'),
    remoteEnv: Object.assign({}, ...entries.map(({ entry }) => entry.remoteEnv)),
    containerEnv: Object.assign({}, ...entries.map(({ entry }) => entry.containerEnv)),
    overrideCommand: last(entries, 'overrideCommand'),
    portsAttributes: Object.assign({}, ...entries.map(({ entry }) => entry.portsAttributes)),
    otherPortsAttributes: last(entries, 'otherPortsAttributes'),
    forwardPorts: mergeForwardPorts(entries),
    shutdownAction: last(entries, 'shutdownAction'),
    updateRemoteUserUID: last(entries, 'updateRemoteUserUID'),
    ...(cpus || memory || storage || gpu ? { hostRequirements: { cpus, memory, storage, ...(gpu ? { gpu } : {}) } } : {}),
  };
}
