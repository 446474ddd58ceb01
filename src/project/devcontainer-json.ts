/**
 * A Dev Containers devcontainer.json (containers.dev/implementors/json_reference) → ProjectConfig, so a
 * repo written for Dev Containers opens without Docker. The metadata properties (containerEnv, remoteUser,
 * the lifecycle commands, …) become the config's metadata entry, merged when the sandbox starts with the
 * image's devcontainer.metadata label and the Features' (devcontainer/metadata.ts). Properties devbox does
 * not read are named in one warning (docs/project-config.md lists them).
 */
import { basename, dirname, resolve } from 'node:path';
import { errorAt, type ConfigFile } from './config-file.js';
import type { MountObject, MountSpec } from '../volume/mount-spec.js';
import { featureRequests, type FeatureOptionValue } from './devcontainer/feature-request.js';
import { METADATA_PROPERTIES, type LifecycleValue, type MetadataEntry } from './devcontainer/metadata.js';
import { parseRunArgs } from './devcontainer/run-args.js';
import { composeDevService } from './devcontainer-compose.js';
import { checkedObject, lifecycleCommand, normalizeEnv, normalizeMounts, projectMount, requirePath } from './normalize.js';
import { devboxSchema } from './package-files.js';
import { parsePort } from './ports.js';
import { defaultPrompt, type EnvironmentSource, type PortMapping, type ProjectConfig } from './project-config.js';
import type { JsonSchema } from './schema-validate.js';
import { substituteString, substituteVariables } from './variables.js';

interface DevcontainerJson extends Omit<MetadataEntry, 'id' | 'entrypoint'> {
  name?: string;
  image?: string;
  build?: { dockerfile?: string; context?: string; args?: Record<string, string>; target?: string };
  /** The older, top-level spellings of build.dockerfile and build.context. */
  dockerFile?: string;
  context?: string;
  appPort?: number | string | (number | string)[];
  features?: Record<string, Record<string, FeatureOptionValue> | string | boolean>;
  overrideFeatureInstallOrder?: string[];
  initializeCommand?: LifecycleValue;
  workspaceFolder?: string;
  workspaceMount?: string;
  runArgs?: string[];
  dockerComposeFile?: string | string[];
  service?: string;
  runServices?: string[];
}

const string = { type: 'string', minLength: 1 } as const;
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;

/** The properties devbox reads, with the types the spec gives them; any other property is named in a warning. */
function devcontainerSchema(): JsonSchema {
  const { $defs } = devboxSchema();
  const { id: _id, entrypoint: _entrypoint, ...metadata } = METADATA_PROPERTIES;
  return {
    $defs,
    type: 'object',
    properties: {
      name: { type: 'string' },
      image: string,
      build: {
        type: 'object',
        properties: { dockerfile: string, context: string, args: stringMap, target: string },
      },
      dockerFile: string,
      context: string,
      ...metadata,
      appPort: {
        anyOf: [{ type: 'integer', minimum: 1, maximum: 65535 }, { type: 'string' }, { type: 'array', items: { type: ['integer', 'string'] } }],
      },
      features: {
        type: 'object',
        additionalProperties: { anyOf: [{ type: 'object', additionalProperties: { type: ['string', 'boolean'] } }, { type: 'string' }, { type: 'boolean' }] },
      },
      overrideFeatureInstallOrder: { type: 'array', items: string },
      initializeCommand: { $ref: '#/$defs/lifecycleCommand' },
      workspaceFolder: string,
      workspaceMount: string,
      runArgs: { type: 'array', items: { type: 'string' } },
      dockerComposeFile: { anyOf: [string, { type: 'array', items: string }] },
      service: string,
      runServices: { type: 'array', items: string },
    },
  };
}

/** The properties devbox reads (the others are named in a warning), `build.*` ones with their prefix. */
export const READ_PROPERTIES = new Set(['$schema', ...Object.keys(devcontainerSchema().properties ?? {})]);
export const READ_BUILD_PROPERTIES = new Set(['dockerfile', 'context', 'args', 'target']);
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1']);
/** The metadata properties the config's entry carries; mounts and forwardPorts are read into the config's own. */
const ENTRY_PROPERTIES = Object.keys(METADATA_PROPERTIES).filter(
  (key) => !['id', 'entrypoint', 'mounts', 'forwardPorts'].includes(key),
) as (keyof MetadataEntry)[];

function environmentOf(file: ConfigFile, json: DevcontainerJson): EnvironmentSource {
  const dockerfileKey = json.build?.dockerfile !== undefined ? ['build', 'dockerfile'] : ['dockerFile'];
  const dockerfileValue = json.build?.dockerfile ?? json.dockerFile;
  if (json.image !== undefined && dockerfileValue === undefined) return { kind: 'image', image: json.image };
  if (dockerfileValue === undefined) {
    throw errorAt(file, [], 'needs "image" or "build.dockerfile"', 'name the image to use, or the Dockerfile to build (relative to devcontainer.json)');
  }
  // Paths in "build" are relative to devcontainer.json, and the context defaults to its folder (spec).
  const folder = dirname(file.path);
  const dockerfile = resolve(folder, dockerfileValue);
  requirePath(file, dockerfileKey, dockerfile, 'file', 'paths in devcontainer.json are relative to its folder');
  const contextKey = json.build?.context !== undefined ? ['build', 'context'] : ['context'];
  const context = resolve(folder, json.build?.context ?? json.context ?? '.');
  requirePath(file, contextKey, context, 'directory', 'paths in devcontainer.json are relative to its folder');
  const target = json.build?.target;
  return { kind: 'dockerfile', dockerfile, context, buildArgs: { ...json.build?.args }, ...(target ? { target } : {}) };
}

/** forwardPorts of this sandbox, published on the same host port; those of other Compose services are named. */
export function forwardedPorts(ports: readonly (number | string)[], warnings: string[]): PortMapping[] {
  const mappings: PortMapping[] = [];
  for (const port of ports) {
    const [host, number] =
      typeof port === 'number' ? ['localhost', port] : [port.slice(0, port.lastIndexOf(':')), Number(port.slice(port.lastIndexOf(':') + 1))];
    const parsed = LOCAL_HOSTS.has(host) ? parsePort(number) : undefined;
    if (parsed?.ok) mappings.push(parsed.value);
    else
      warnings.push(
        `forwardPorts "${port}" is a port of another container (Docker Compose), which devbox does not forward: reach it by that name from the sandbox`,
      );
  }
  return mappings;
}

/** appPort: published ports, as `docker run -p` takes them. */
function appPorts(file: ConfigFile, value: DevcontainerJson['appPort']): PortMapping[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return list.map((port, index) => {
    const parsed = parsePort(typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port);
    if (!parsed.ok) throw errorAt(file, Array.isArray(value) ? ['appPort', index] : ['appPort'], parsed.reason);
    return parsed.value;
  });
}

/** workspaceMount: what is mounted at workspaceFolder (the repo stays at its own path too, as devbox always mounts it). */
function workspaceMount(file: ConfigFile, json: DevcontainerJson, root: string, home: string): MountSpec | undefined {
  if (json.workspaceMount === undefined) return undefined;
  const parsed = projectMount(json.workspaceMount, { base: root, home });
  if (!parsed.ok) throw errorAt(file, ['workspaceMount'], parsed.reason);
  return parsed.value;
}

export function projectFromDevcontainerJson(file: ConfigFile, root: string, hostEnv: NodeJS.ProcessEnv, home: string): ProjectConfig {
  const raw = checkedObject(file, devcontainerSchema());
  const localOnly = { localWorkspaceFolder: root, containerWorkspaceFolder: root, localEnv: hostEnv };
  const workspaceFolder = raw.workspaceFolder === undefined ? root : resolve('/', substituteString(raw.workspaceFolder as string, localOnly));
  const json = substituteVariables(raw as DevcontainerJson, { ...localOnly, containerWorkspaceFolder: workspaceFolder });

  const ignored = [
    ...Object.keys(raw).filter((key) => !READ_PROPERTIES.has(key)),
    ...Object.keys(json.build ?? {})
      .filter((key) => !READ_BUILD_PROPERTIES.has(key))
      .map((key) => `build.${key}`),
  ];
  const warnings = ignored.length > 0 ? [`${file.path}: devbox ignores ${ignored.join(', ')} (see "Dev Containers" in docs/project-config.md)`] : [];
  const name = json.name || basename(root);
  const context = { base: root, home };

  const metadata: Record<string, unknown> = {};
  for (const key of ENTRY_PROPERTIES) if (json[key as keyof DevcontainerJson] !== undefined) metadata[key] = json[key as keyof DevcontainerJson];
  const entry = metadata as MetadataEntry;
  if (json.containerEnv) entry.containerEnv = normalizeEnv(file, 'containerEnv', json.containerEnv) as Record<string, string>;
  if (json.remoteEnv) entry.remoteEnv = normalizeEnv(file, 'remoteEnv', json.remoteEnv);

  const mounts = normalizeMounts(file, 'mounts', json.mounts as (string | MountObject)[] | undefined, context);
  const workspace = workspaceMount(file, json, root, home);
  const ports = [...forwardedPorts(json.forwardPorts ?? [], warnings), ...appPorts(file, json.appPort)];
  const compose =
    json.dockerComposeFile === undefined ? undefined : composeDevService(file, { ...json, dockerComposeFile: json.dockerComposeFile }, root, hostEnv);
  if (compose) {
    entry.containerEnv = { ...compose.containerEnv, ...entry.containerEnv };
    if (compose.containerUser && !entry.containerUser) entry.containerUser = compose.containerUser;
    mounts.unshift(...compose.mounts);
    warnings.push(...compose.warnings);
  }
  let network: ProjectConfig['network'] = compose ? compose.network.network : 'slirp4netns';
  let hostname: string | undefined;
  if (json.runArgs?.length) {
    const run = parseRunArgs(json.runArgs, context, hostEnv);
    if (run.errors.length) throw errorAt(file, ['runArgs'], run.errors[0]);
    entry.containerEnv = { ...run.containerEnv, ...entry.containerEnv };
    mounts.push(...run.mounts);
    ports.push(...run.ports);
    if (!compose) network = run.network ?? network;
    hostname = run.hostname;
    if (run.containerUser && !entry.containerUser) entry.containerUser = run.containerUser;
    if (run.capAdd.length) entry.capAdd = [...(entry.capAdd ?? []), ...run.capAdd];
    if (run.securityOpt.length) entry.securityOpt = [...(entry.securityOpt ?? []), ...run.securityOpt];
    if (run.init) entry.init = true;
    if (run.privileged) entry.privileged = true;
    if (run.unsupported.length) warnings.push(`${file.path}: devbox does not apply runArgs ${run.unsupported.join(', ')} (no devbox run option does that)`);
  }
  return {
    source: { format: 'devcontainer.json', path: file.path },
    root,
    name,
    environment: compose ? compose.environment : environmentOf(file, json),
    mounts,
    network,
    ...(compose ? { ...compose.network, network, services: compose.services } : {}),
    ports,
    home: 'private',
    prompt: defaultPrompt(name),
    workspaceFolder,
    ...(workspace ? { workspaceMount: workspace } : {}),
    // On the Compose network the services find the sandbox by its host name: its service's name, as Compose's alias.
    ...(hostname || compose ? { hostname: hostname ?? json.service! } : {}),
    metadata: entry,
    imageMetadata: true,
    ...(json.initializeCommand === undefined ? {} : { initializeCommand: lifecycleCommand(json.initializeCommand) }),
    features: featureRequests(json.features),
    featureInstallOrder: json.overrideFeatureInstallOrder ?? [],
    warnings,
  };
}
