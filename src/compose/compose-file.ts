/**
 * Docker Compose files (compose-spec.io) → ServiceSpecs, for devcontainer.json's dockerComposeFile: the subset
 * dev containers lean on (image, build, environment, env_file, volumes, ports, expose, command, entrypoint,
 * depends_on, healthcheck, restart, working_dir, user, container_name, networks and network_mode, named
 * volumes). Read with the
 * `yaml` package's syntax tree so that every refusal names file:line and the key; anything else is refused,
 * never dropped, since a service that silently runs differently is worse than one that does not start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import type { Alias, Document, LineCounter, Node, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import type { HealthOptions } from '../container/options.js';
import { DevboxError } from '../util/errors.js';
import { MountSpecError, parseMountFields, parseVolumeFlag, type MountSpec } from '../volume/mount-spec.js';
import { splitCommand } from './command-words.js';
import {
  composeProjectName,
  DEFAULT_SERVICE_NETWORK,
  type GroupNetwork,
  networkNameOf,
  type ServiceBuild,
  type ServiceNetwork,
  type ServiceSpec,
  volumeNameOf,
} from './service-spec.js';

type Yaml = typeof import('yaml');
let yamlModule: Yaml | undefined;

/**
 * The yaml package, loaded on first use (its CommonJS build, synchronously, as config-file.ts loads
 * jsonc-parser): devcontainer.json is read on every `devbox shell`, and only a Compose project needs YAML.
 */
function yaml(): Yaml {
  yamlModule ??= createRequire(import.meta.url)('yaml') as Yaml;
  return yamlModule;
}
const isAlias = (node: unknown): node is Alias => yaml().isAlias(node);
const isMap = (node: unknown): node is YAMLMap => yaml().isMap(node);
const isScalar = (node: unknown): node is Scalar => yaml().isScalar(node);
const isSeq = (node: unknown): node is YAMLSeq => yaml().isSeq(node);

/** A value in a Compose file, with where it is written. */
interface Located {
  node: Node;
  file: ComposeSource;
}

class ComposeSource {
  readonly lines: LineCounter = new (yaml().LineCounter)();
  doc?: Document;
  constructor(
    readonly path: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  get folder(): string {
    return dirname(this.path);
  }

  /** file:line of a node, as messages start. */
  where(node: Node | null | undefined): string {
    const offset = node?.range?.[0];
    return offset === undefined ? this.path : `${this.path}:${this.lines.linePos(offset).line}`;
  }

  fail(node: Node | null | undefined, key: string, message: string, fix?: string): DevboxError {
    return new DevboxError(`${this.where(node)}: ${key}: ${message}`, fix ? { fix } : {});
  }
}

const SERVICE_KEYS = new Set([
  'image',
  'build',
  'environment',
  'env_file',
  'volumes',
  'ports',
  'expose',
  'command',
  'entrypoint',
  'depends_on',
  'healthcheck',
  'restart',
  'working_dir',
  'user',
  'networks',
  'network_mode',
  'container_name',
]);
const BUILD_KEYS = new Set(['context', 'dockerfile', 'args', 'target']);
const HEALTH_KEYS = new Set(['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable']);
const TOP_KEYS = new Set(['services', 'volumes', 'networks', 'name', 'version']);
const NETWORK_KEYS = new Set(['driver', 'internal', 'name']);
const UNSUPPORTED_FIX = 'remove it (see "Docker Compose" in docs/project-config.md for what devbox runs)';

/** ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR and $$, from the host's environment, as Compose interpolates. */
function interpolate(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_, all, braced, op, fallback, bare) => {
    if (all === '$') return '$';
    const name = braced ?? bare;
    const value = env[name];
    if (op === ':-') return value ? value : fallback;
    if (op === '-') return value ?? fallback;
    return value ?? '';
  });
}

/** An alias's node (`*name`), any other node as it is. */
function deref(node: Node | null, file: ComposeSource): Node | null {
  return node && isAlias(node) ? ((node.resolve(file.doc!) as Node | undefined) ?? null) : node;
}

const isMergeKey = (key: Node) => isScalar(key) && (key.value === '<<' || (typeof key.value === 'symbol' && key.value.description === '<<'));

/** A mapping's entries, with YAML merge keys (`<<: *anchor`) expanded: the mapping's own keys win. */
function pairs(map: YAMLMap, file: ComposeSource): { key: string; keyNode: Node; value: Node | null }[] {
  const own: { key: string; keyNode: Node; value: Node | null }[] = [];
  const merged: { key: string; keyNode: Node; value: Node | null }[] = [];
  for (const pair of map.items as Pair<Node, Node | null>[]) {
    if (isMergeKey(pair.key)) {
      const sources = isSeq(pair.value) ? (pair.value.items as Node[]) : [pair.value];
      for (const source of sources.map((n) => deref(n, file))) if (source && isMap(source)) merged.push(...pairs(source, file));
    } else own.push({ key: String(isScalar(pair.key) ? pair.key.value : pair.key), keyNode: pair.key, value: deref(pair.value, file) });
  }
  return [...merged.filter((m) => !own.some((o) => o.key === m.key)), ...own];
}

function scalar(at: Located, key: string): string {
  if (!isScalar(at.node) || at.node.value === null || typeof at.node.value === 'object') throw at.file.fail(at.node, key, 'expected a string or a number');
  return interpolate(String(at.node.value), at.file.env);
}

function mapOf(at: Located, key: string): YAMLMap {
  if (!isMap(at.node)) throw at.file.fail(at.node, key, 'expected a mapping (KEY: VALUE lines)');
  return at.node;
}

function listOf(at: Located, key: string): string[] {
  if (!isSeq(at.node)) throw at.file.fail(at.node, key, 'expected a list');
  return at.node.items.map((item, index) => scalar({ node: deref(item as Node, at.file) as Node, file: at.file }, `${key}[${index}]`));
}

/** A string, or a list of strings (command, entrypoint, a health test). */
function words(at: Located, key: string): string[] {
  return isSeq(at.node) ? listOf(at, key) : splitCommand(scalar(at, key), `${at.file.where(at.node)}: ${key}`);
}

/** environment and build.args: a mapping, or a list of KEY=VALUE (a KEY alone takes the host's value). */
function variables(at: Located, key: string): Record<string, string> {
  const result: Record<string, string> = {};
  if (isSeq(at.node)) {
    for (const entry of listOf(at, key)) {
      const eq = entry.indexOf('=');
      const name = eq === -1 ? entry : entry.slice(0, eq);
      const value = eq === -1 ? at.file.env[name] : entry.slice(eq + 1);
      if (value !== undefined) result[name] = value;
    }
    return result;
  }
  for (const { key: name, value } of pairs(mapOf(at, key), at.file)) {
    if (value === null || (isScalar(value) && value.value === null)) {
      if (at.file.env[name] !== undefined) result[name] = at.file.env[name]!;
    } else result[name] = scalar({ node: value, file: at.file }, `${key}.${name}`);
  }
  return result;
}

/** env_file: KEY=VALUE lines of files relative to the Compose file (# comments and blank lines skipped). */
function envFiles(at: Located, key: string): Record<string, string> {
  const paths = isSeq(at.node) ? listOf(at, key) : [scalar(at, key)];
  const result: Record<string, string> = {};
  for (const path of paths.map((p) => resolve(at.file.folder, p))) {
    if (!existsSync(path)) throw at.file.fail(at.node, key, `${path} does not exist`, 'paths in a Compose file are relative to its folder');
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const text = line.trim();
      if (!text || text.startsWith('#')) continue;
      const eq = text.indexOf('=');
      if (eq > 0) result[text.slice(0, eq).trim()] = text.slice(eq + 1).replace(/^(["'])(.*)\1$/, '$2');
    }
  }
  return result;
}

function build(at: Located, key: string): Omit<ServiceBuild, 'args'> & { args: Record<string, string> } {
  if (!isMap(at.node)) {
    const context = resolve(at.file.folder, scalar(at, key));
    return { context, dockerfile: resolve(context, 'Dockerfile'), args: {} };
  }
  const values: Record<string, Located> = {};
  for (const { key: name, keyNode, value } of pairs(at.node, at.file)) {
    if (!BUILD_KEYS.has(name)) throw at.file.fail(keyNode, `${key}.${name}`, 'is not supported by devbox', UNSUPPORTED_FIX);
    values[name] = { node: value as Node, file: at.file };
  }
  const context = resolve(at.file.folder, values.context ? scalar(values.context, `${key}.context`) : '.');
  const dockerfile = resolve(context, values.dockerfile ? scalar(values.dockerfile, `${key}.dockerfile`) : 'Dockerfile');
  if (!existsSync(dockerfile))
    throw at.file.fail(at.node, key, `no Dockerfile at ${dockerfile}`, 'the context is relative to the Compose file, the dockerfile to the context');
  return {
    context,
    dockerfile,
    args: values.args ? variables(values.args, `${key}.args`) : {},
    ...(values.target ? { target: scalar(values.target, `${key}.target`) } : {}),
  };
}

const LONG_VOLUME_KEYS = new Set(['type', 'source', 'target', 'read_only', 'consistency', 'bind', 'volume', 'tmpfs']);
/** The long syntax's options, by mount type, as `--mount` spells them. */
const LONG_VOLUME_OPTIONS: Record<string, Record<string, string>> = {
  bind: { propagation: 'bind-propagation', create_host_path: '' },
  volume: { nocopy: 'volume-nocopy' },
  tmpfs: { size: 'tmpfs-size', mode: 'tmpfs-mode' },
};

/** A long-syntax volume as `--mount`'s fields (the one mount parser decides what they mean). */
function longVolume(at: Located, key: string, base: string): MountSpec {
  const fields = new Map<string, string | undefined>();
  const text = (node: Node | null, where: string) =>
    // A tmpfs mode is octal bits: YAML reads 0o1777 as a number.
    isScalar(node) && typeof node.value === 'number' && where.endsWith('.mode') ? node.value.toString(8) : scalar({ node: node as Node, file: at.file }, where);
  let typeNode: Node | undefined;
  for (const { key: name, keyNode, value } of pairs(mapOf(at, key), at.file)) {
    const where = `${key}.${name}`;
    if (!LONG_VOLUME_KEYS.has(name)) throw at.file.fail(keyNode, where, 'is not supported by devbox', UNSUPPORTED_FIX);
    if (name === 'consistency') continue;
    if (name === 'type') typeNode = value ?? undefined;
    if (name === 'read_only') {
      if (text(value, where) === 'true') fields.set('readonly', undefined);
    } else if (name in LONG_VOLUME_OPTIONS) {
      for (const option of pairs(mapOf({ node: value as Node, file: at.file }, where), at.file)) {
        const flag = LONG_VOLUME_OPTIONS[name]![option.key];
        if (flag === undefined) throw at.file.fail(option.keyNode, `${where}.${option.key}`, 'is not supported by devbox', UNSUPPORTED_FIX);
        const optionValue = text(option.value, `${where}.${option.key}`);
        if (flag && optionValue !== 'false') fields.set(flag, optionValue === 'true' ? undefined : optionValue);
      }
      if (fields.has('type') && fields.get('type') !== name)
        throw at.file.fail(keyNode, where, `is for ${name} mounts`, `leave it out of a ${fields.get('type')} mount`);
    } else fields.set(name, text(value, where));
  }
  if (!fields.has('type')) throw at.file.fail(at.node, key, 'needs "type"', 'give type: bind, volume or tmpfs');
  try {
    return parseMountFields(fields, { base });
  } catch (error) {
    if (error instanceof MountSpecError) throw at.file.fail(typeNode ?? at.node, key, error.reason);
    throw error;
  }
}

/** Volumes, short or long syntax: relative binds from the Compose file's folder, named volumes the project's own. */
function volumes(at: Located, key: string, project: string, declared: ReadonlySet<string>): MountSpec[] {
  if (!isSeq(at.node)) throw at.file.fail(at.node, key, 'expected a list');
  return at.node.items.map((item, index) => {
    const entry = { node: item as Node, file: at.file };
    const where = `${key}[${index}]`;
    let mount: MountSpec;
    if (isMap(item)) mount = longVolume(entry, where, at.file.folder);
    else {
      const text = scalar(entry, where);
      try {
        mount = parseVolumeFlag(text, { base: at.file.folder });
      } catch (error) {
        if (error instanceof MountSpecError) throw at.file.fail(entry.node, where, error.reason);
        throw error;
      }
    }
    if (mount.type !== 'volume' || mount.source === undefined) return mount;
    if (!declared.has(mount.source)) throw at.file.fail(entry.node, where, `volume "${mount.source}" is not declared`, `add it under the top-level "volumes:"`);
    return { ...mount, source: volumeNameOf({ name: project }, mount.source) };
  });
}

function dependsOn(at: Located, key: string): ServiceSpec['dependsOn'] {
  if (isSeq(at.node)) return listOf(at, key).map((name) => ({ name, healthy: false }));
  return pairs(mapOf(at, key), at.file).map(({ key: name, value }) => {
    let healthy = false;
    for (const option of value && isMap(value) ? pairs(value, at.file) : []) {
      const where = `${key}.${name}.${option.key}`;
      if (option.key !== 'condition') throw at.file.fail(option.keyNode, where, 'is not supported by devbox', UNSUPPORTED_FIX);
      const condition = scalar({ node: option.value as Node, file: at.file }, where);
      if (condition !== 'service_started' && condition !== 'service_healthy')
        throw at.file.fail(option.value, where, `"${condition}" is not supported by devbox`, 'use service_started or service_healthy');
      healthy = condition === 'service_healthy';
    }
    return { name, healthy };
  });
}

function healthcheck(at: Located, key: string): HealthOptions {
  const options: HealthOptions = { none: false };
  for (const { key: name, keyNode, value } of pairs(mapOf(at, key), at.file)) {
    const entry = { node: value as Node, file: at.file };
    const where = `${key}.${name}`;
    if (!HEALTH_KEYS.has(name)) throw at.file.fail(keyNode, where, 'is not supported by devbox', UNSUPPORTED_FIX);
    if (name === 'disable') options.none = scalar(entry, where) === 'true';
    else if (name === 'test') {
      const test = words(entry, where);
      if (test[0] === 'NONE') options.none = true;
      else if (test[0] === 'CMD-SHELL') options.cmd = test.slice(1).join(' ');
      else if (test[0] === 'CMD')
        options.cmd = test
          .slice(1)
          .map((w) => `'${w.replaceAll("'", `'\\''`)}'`)
          .join(' ');
      else options.cmd = isSeq(value) ? test.join(' ') : scalar(entry, where);
    } else {
      const field = { interval: 'interval', timeout: 'timeout', retries: 'retries', start_period: 'startPeriod', start_interval: 'startInterval' }[
        name
      ] as keyof HealthOptions;
      (options as unknown as Record<string, string>)[field] = scalar(entry, where);
    }
  }
  return options;
}

/** A service's `networks`: a list of names, or names with `aliases`; each declared at the top (but `default`). */
function serviceNetworks(at: Located, key: string, declared: ReadonlyMap<string, ComposeNetwork>): ServiceNetwork {
  const entries: { key: string; keyNode: Node; aliases: string[] }[] = isSeq(at.node)
    ? at.node.items.map((item, index) => ({ key: scalar({ node: item as Node, file: at.file }, `${key}[${index}]`), keyNode: item as Node, aliases: [] }))
    : pairs(mapOf(at, key), at.file).map(({ key: name, keyNode, value }) => {
        const aliases: string[] = [];
        for (const option of value && isMap(value) ? pairs(value, at.file) : []) {
          const where = `${key}.${name}.${option.key}`;
          if (option.key !== 'aliases') throw at.file.fail(option.keyNode, where, 'is not supported by devbox', UNSUPPORTED_FIX);
          aliases.push(...listOf({ node: option.value as Node, file: at.file }, where));
        }
        return { key: name, keyNode, aliases };
      });
  for (const entry of entries)
    if (entry.key !== 'default' && !declared.has(entry.key))
      throw at.file.fail(entry.keyNode, key, `network "${entry.key}" is not declared`, 'add it under the top-level "networks:"');
  if (entries.length > 1) throw at.file.fail(at.node, key, 'devbox joins a service to one network', `keep one of ${entries.map((e) => e.key).join(', ')}`);
  return { kind: 'networks', networks: entries.map(({ key: name, aliases }) => ({ key: name, aliases })) };
}

/** `network_mode`: host, none, or service:NAME (that service's network namespace). */
function networkMode(at: Located, key: string, services: ReadonlyMap<string, unknown>): ServiceNetwork {
  const mode = scalar(at, key);
  if (mode === 'host' || mode === 'none') return { kind: mode };
  if (mode === 'bridge') return DEFAULT_SERVICE_NETWORK;
  const service = mode.startsWith('service:') ? mode.slice('service:'.length) : undefined;
  if (service === undefined) throw at.file.fail(at.node, key, `"${mode}" is not supported by devbox`, 'use host, none, bridge or service:NAME');
  if (!services.has(service)) throw at.file.fail(at.node, key, `names "${service}", which is not a service here`, 'name a service of this file');
  return { kind: 'service', service };
}

/** One service's keys across the files, a later file's key replacing an earlier one's (environment merged). */
type ServiceKeys = Map<string, Located[]>;

/** A top-level network: its own name when it gives one, and whether it has no way out. */
interface ComposeNetwork {
  name?: string;
  internal: boolean;
}

export interface ComposeModel {
  /** Compose's project name. */
  name: string;
  /** The first file, named in messages about the whole project. */
  file: string;
  services: Map<string, ServiceKeys>;
  volumes: Set<string>;
  networks: Map<string, ComposeNetwork>;
}

/** A top-level network's options: the bridge driver, internal, name; anything else refused by key. */
function topNetwork(at: Located, key: string): ComposeNetwork {
  const network: ComposeNetwork = { internal: false };
  if (at.node === null || (isScalar(at.node) && at.node.value === null)) return network;
  for (const option of pairs(mapOf(at, key), at.file)) {
    const where = `${key}.${option.key}`;
    const value = { node: option.value as Node, file: at.file };
    if (!NETWORK_KEYS.has(option.key)) throw at.file.fail(option.keyNode, where, 'is not supported by devbox', UNSUPPORTED_FIX);
    if (option.key === 'driver' && scalar(value, where) !== 'bridge')
      throw at.file.fail(option.value, where, `"${scalar(value, where)}" is not supported by devbox`, 'use the bridge driver, or leave "driver" out');
    if (option.key === 'internal') network.internal = scalar(value, where) === 'true';
    if (option.key === 'name') network.name = scalar(value, where);
  }
  return network;
}

function readOne(path: string, env: NodeJS.ProcessEnv, model: ComposeModel): void {
  const file = new ComposeSource(path, env);
  if (!existsSync(path)) throw new DevboxError(`${path} does not exist`, { fix: 'dockerComposeFile paths are relative to devcontainer.json' });
  const doc = yaml().parseDocument(readFileSync(path, 'utf8'), { lineCounter: file.lines, prettyErrors: false, uniqueKeys: true, merge: true });
  file.doc = doc;
  const [error] = doc.errors;
  if (error) {
    const line = file.lines.linePos(error.pos[0]).line;
    throw new DevboxError(`${path}:${line}: ${error.message.split('\n')[0]}`, { fix: 'fix the YAML syntax' });
  }
  if (!isMap(doc.contents)) throw new DevboxError(`${path}: expected a Compose file (a mapping with "services:")`);
  for (const { key, keyNode, value } of pairs(doc.contents, file)) {
    const at = { node: value as Node, file };
    if (key.startsWith('x-')) continue;
    if (!TOP_KEYS.has(key)) throw file.fail(keyNode, key, 'is not supported by devbox', UNSUPPORTED_FIX);
    if (key === 'name') model.name = composeProjectName(scalar(at, key));
    if (key === 'networks' && value !== null)
      for (const network of pairs(mapOf(at, key), at.file))
        model.networks.set(network.key, topNetwork({ node: network.value as Node, file }, `networks.${network.key}`));
    if (key === 'volumes' && value !== null) {
      for (const volume of pairs(mapOf(at, key), at.file)) {
        if (volume.value && !(isScalar(volume.value) && volume.value.value === null) && !(isMap(volume.value) && volume.value.items.length === 0))
          throw file.fail(
            volume.keyNode,
            `volumes.${volume.key}`,
            'volume options are not supported by devbox',
            'leave only the name (a devbox volume is made for it)',
          );
        model.volumes.add(volume.key);
      }
    }
    if (key !== 'services') continue;
    for (const service of pairs(mapOf(at, key), at.file)) {
      const keys = model.services.get(service.key) ?? new Map<string, Located[]>();
      model.services.set(service.key, keys);
      for (const option of pairs(mapOf({ node: service.value as Node, file }, `services.${service.key}`), file)) {
        if (!SERVICE_KEYS.has(option.key))
          throw file.fail(option.keyNode, `services.${service.key}.${option.key}`, 'is not supported by devbox', UNSUPPORTED_FIX);
        const located = { node: option.value as Node, file };
        // A later file replaces a key, except environment, which it extends (Compose's merge).
        keys.set(option.key, option.key === 'environment' ? [...(keys.get(option.key) ?? []), located] : [located]);
      }
    }
  }
}

/** Reads the Compose files, each later one overriding the earlier ones' keys. `name` is the project's default name. */
export function readComposeFiles(paths: readonly string[], name: string, env: NodeJS.ProcessEnv): ComposeModel {
  const model: ComposeModel = { name: composeProjectName(name), file: paths[0]!, services: new Map(), volumes: new Set(), networks: new Map() };
  for (const path of paths) readOne(path, env, model);
  return model;
}

/** One service of the model, as the runner takes it; the image of a service that is only built is named after it. */
export function composeService(model: ComposeModel, name: string): ServiceSpec {
  const keys = model.services.get(name);
  if (!keys) throw new DevboxError(`${model.file}: no service "${name}"`, { fix: `name one of: ${[...model.services.keys()].join(', ')}` });
  const one = (key: string) => keys.get(key)?.[0];
  const at = (key: string) => `services.${name}.${key}`;
  const text = (key: string) => (one(key) ? scalar(one(key)!, at(key)) : undefined);
  const built = one('build') ? build(one('build')!, at('build')) : undefined;
  const image = text('image') ?? (built ? `localhost/${model.name}-${name}:latest` : undefined);
  if (!image) throw new DevboxError(`${model.file}: services.${name}: needs "image" or "build"`, { fix: 'name the image to run, or the folder to build' });
  const env = { ...(one('env_file') ? envFiles(one('env_file')!, at('env_file')) : {}) };
  for (const located of keys.get('environment') ?? []) Object.assign(env, variables(located, at('environment')));
  const entrypoint = one('entrypoint') ? words(one('entrypoint')!, at('entrypoint')) : undefined;
  const command = one('command') ? words(one('command')!, at('command')) : undefined;
  const mode = one('network_mode');
  if (mode && one('networks')) throw mode.file.fail(mode.node, at('network_mode'), 'cannot be given with "networks"', 'keep one of them');
  const network = mode
    ? networkMode(mode, at('network_mode'), model.services)
    : one('networks')
      ? serviceNetworks(one('networks')!, at('networks'), model.networks)
      : DEFAULT_SERVICE_NETWORK;
  const ports = one('ports') ? listOf(one('ports')!, at('ports')) : [];
  if (network.kind === 'service' && ports.length) {
    const where = one('ports')!;
    throw where.file.fail(
      where.node,
      at('ports'),
      `cannot be published in the network namespace of service ${network.service}`,
      `publish them on ${network.service}`,
    );
  }
  const needs = one('depends_on') ? dependsOn(one('depends_on')!, at('depends_on')) : [];
  // A service in another's network namespace needs it running first, as Compose orders them.
  if (network.kind === 'service' && !needs.some((d) => d.name === network.service)) needs.push({ name: network.service, healthy: false });
  const containerName = text('container_name');
  const workdir = text('working_dir');
  const user = text('user');
  const restart = text('restart');
  return {
    name,
    image,
    ...(built ? { build: built } : {}),
    env,
    ports,
    volumes: one('volumes') ? volumes(one('volumes')!, at('volumes'), model.name, model.volumes) : [],
    // Compose's entrypoint replaces the image's and drops its CMD; devbox run takes the program, the rest leads the command.
    ...(entrypoint?.length ? { entrypoint: entrypoint[0], command: [...entrypoint.slice(1), ...(command ?? [])] } : command ? { command } : {}),
    ...(workdir ? { workdir } : {}),
    ...(user ? { user } : {}),
    ...(restart ? { restart: restart === 'no' ? 'no' : restart } : {}),
    ...(one('healthcheck') ? { health: healthcheck(one('healthcheck')!, at('healthcheck')) } : {}),
    dependsOn: needs,
    network,
    ...(containerName ? { containerName } : {}),
  };
}

/** The networks that `services` join, by key: Compose's PROJECT_KEY, or the name a network gives itself. */
export function composeNetworks(model: ComposeModel, services: readonly ServiceSpec[]): Record<string, GroupNetwork> {
  const networks: Record<string, GroupNetwork> = {};
  for (const service of services) {
    if (service.network.kind !== 'networks') continue;
    for (const { key } of service.network.networks) {
      const declared = model.networks.get(key);
      networks[key] = { name: declared?.name ?? networkNameOf(model, key), internal: declared?.internal ?? false };
    }
  }
  return networks;
}

/** Keys a service has (for what a dev service's sandbox cannot honour). */
export function serviceKeys(model: ComposeModel, name: string): string[] {
  return [...(model.services.get(name)?.keys() ?? [])];
}
