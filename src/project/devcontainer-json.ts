/**
 * A Dev Containers devcontainer.json (containers.dev/implementors/json_reference) → ProjectConfig, so a
 * repo written for Dev Containers opens without Docker. Only the properties below are read; the others
 * are named in one warning (and listed in docs/project-config.md).
 */
import { basename, dirname, resolve } from 'node:path';
import { errorAt, type ConfigFile } from './config-file.js';
import type { MountObject } from '../volume/mount-spec.js';
import { checkedObject, lifecycleCommand, normalizeEnv, normalizeMounts, requirePath, type LifecycleValue } from './normalize.js';
import { devboxSchema } from './package-files.js';
import { parsePort } from './ports.js';
import { defaultPrompt, replaceContainerEnv, type EnvironmentSource, type LifecycleCommand, type PortMapping, type ProjectConfig } from './project-config.js';
import type { JsonSchema } from './schema-validate.js';
import { substituteString, substituteVariables } from './variables.js';

interface DevcontainerJson {
  name?: string;
  image?: string;
  build?: { dockerfile?: string; context?: string; args?: Record<string, string>; target?: string };
  /** The older, top-level spellings of build.dockerfile and build.context. */
  dockerFile?: string;
  context?: string;
  containerEnv?: Record<string, string>;
  remoteEnv?: Record<string, string | null>;
  remoteUser?: string;
  mounts?: (string | MountObject)[];
  forwardPorts?: (number | string)[];
  onCreateCommand?: LifecycleValue;
  updateContentCommand?: LifecycleValue;
  postCreateCommand?: LifecycleValue;
  workspaceFolder?: string;
}

/** Lifecycle commands devbox runs once per fresh sandbox, in the spec's order. */
const CREATE_COMMANDS = ['onCreateCommand', 'updateContentCommand', 'postCreateCommand'] as const;

const string = { type: 'string', minLength: 1 } as const;
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;

/** The properties devbox reads, with the types the spec gives them; any other property is ignored. */
function devcontainerSchema(): JsonSchema {
  const { $defs } = devboxSchema();
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
      containerEnv: stringMap,
      remoteEnv: { type: 'object', additionalProperties: { type: ['string', 'null'] } },
      remoteUser: string,
      mounts: { type: 'array', items: { $ref: '#/$defs/mount' } },
      forwardPorts: {
        type: 'array',
        items: {
          anyOf: [
            { type: 'integer', minimum: 1, maximum: 65535 },
            { type: 'string', pattern: '^[^:\\s]+:[0-9]+$', patternErrorMessage: 'a port number or "HOST:PORT"' },
          ],
        },
      },
      ...Object.fromEntries(CREATE_COMMANDS.map((key) => [key, { $ref: '#/$defs/lifecycleCommand' }])),
      workspaceFolder: string,
    },
  };
}

const READ_PROPERTIES = new Set(['$schema', ...Object.keys(devcontainerSchema().properties ?? {})]);
/** build.* properties that only make sense for Docker's builder. */
const READ_BUILD_PROPERTIES = new Set(['dockerfile', 'context', 'args', 'target']);
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1']);

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

function forwardedPorts(ports: (number | string)[], warnings: string[]): PortMapping[] {
  const mappings: PortMapping[] = [];
  for (const port of ports) {
    const [host, number] =
      typeof port === 'number' ? ['localhost', port] : [port.slice(0, port.lastIndexOf(':')), Number(port.slice(port.lastIndexOf(':') + 1))];
    const parsed = LOCAL_HOSTS.has(host) ? parsePort(number) : undefined;
    if (parsed?.ok) mappings.push(parsed.value);
    else warnings.push(`forwardPorts "${port}" is a port of another container (Docker Compose); devbox runs one sandbox, so it is not forwarded`);
  }
  return mappings;
}

/** remoteEnv may read containerEnv: answer what containerEnv itself sets now; the rest is the image's. */
function mergeEnv(containerEnv: Record<string, string>, remoteEnv: Record<string, string | null>): Record<string, string | null> {
  const merged: Record<string, string | null> = { ...containerEnv };
  for (const [key, value] of Object.entries(remoteEnv)) {
    merged[key] = value === null ? null : replaceContainerEnv(value, (name) => containerEnv[name]);
  }
  return merged;
}

export function projectFromDevcontainerJson(file: ConfigFile, root: string, hostEnv: NodeJS.ProcessEnv, home: string): ProjectConfig {
  const raw = checkedObject(file, devcontainerSchema());
  if (raw.dockerComposeFile !== undefined) {
    throw errorAt(
      file,
      ['dockerComposeFile'],
      'is not supported: devbox runs one sandbox, not a Docker Compose project',
      'write a devbox.json for the service you work in (devbox init), which takes precedence',
    );
  }
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
  const postCreate: LifecycleCommand[] = CREATE_COMMANDS.flatMap((key) => (json[key] === undefined ? [] : [lifecycleCommand(json[key])]));

  const containerEnv = normalizeEnv(file, 'containerEnv', json.containerEnv) as Record<string, string>;
  const remoteEnv = normalizeEnv(file, 'remoteEnv', json.remoteEnv);
  return {
    source: { format: 'devcontainer.json', path: file.path },
    root,
    name,
    environment: environmentOf(file, json),
    env: mergeEnv(containerEnv, remoteEnv),
    mounts: normalizeMounts(file, 'mounts', json.mounts, { base: root, home }),
    network: 'slirp4netns',
    ports: forwardedPorts(json.forwardPorts ?? [], warnings),
    postCreate,
    home: 'private',
    prompt: defaultPrompt(name),
    workspaceFolder,
    ...(json.remoteUser ? { remoteUser: json.remoteUser } : {}),
    warnings,
  };
}
