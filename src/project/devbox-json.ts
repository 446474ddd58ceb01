/** devbox.json → ProjectConfig. Keys and defaults: schema/devbox.schema.json and docs/project-config.md. */
import { basename, dirname, relative, resolve } from 'node:path';
import { errorAt, type ConfigFile } from './config-file.js';
import type { MountObject } from '../volume/mount-spec.js';
import type { LifecycleValue } from './devcontainer/metadata.js';
import { checkedObject, normalizeEnv, normalizeMounts, normalizePorts, pathProblem, requirePath } from './normalize.js';
import { devboxSchema } from './package-files.js';
import { defaultPrompt, type EnvironmentSource, type NetworkMode, type ProjectConfig } from './project-config.js';
import { substituteVariables } from './variables.js';
import { NETWORK_MODES } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';
import { devboxServices, type DevboxService } from './devbox-services.js';
import { networkNameOf } from '../compose/service-spec.js';

export const DEFAULT_DOCKERFILE = '.devbox/Dockerfile';

/** devbox.json as the schema allows it. */
interface DevboxJson {
  name?: string;
  image?: string;
  envImage?: string;
  buildCache?: string;
  build?: { dockerfile?: string; context?: string; args?: Record<string, string>; target?: string };
  env?: Record<string, string | null>;
  mounts?: (string | MountObject)[];
  /** A mode, or the name of a devbox network to join. */
  network?: string;
  ports?: (string | number)[];
  shell?: string | string[];
  postCreateCommand?: LifecycleValue;
  home?: 'private' | 'host';
  prompt?: string;
  services?: Record<string, DevboxService>;
}

function environmentOf(file: ConfigFile, root: string, json: DevboxJson): EnvironmentSource {
  if (json.image !== undefined) {
    if (json.build !== undefined)
      throw errorAt(file, ['build'], 'cannot be used together with "image"', 'keep "image" to use an image as it is, or "build" to build a Dockerfile');
    return { kind: 'image', image: json.image };
  }
  const build = json.build ?? {};
  const dockerfile = resolve(root, build.dockerfile ?? DEFAULT_DOCKERFILE);
  if (build.dockerfile === undefined) {
    if (pathProblem(dockerfile, 'file')) {
      throw new DevboxError(`${file.path}: no Dockerfile at ${relative(root, dockerfile)}, where devbox looks when "build.dockerfile" is not set`, {
        fix: 'write one, set "build.dockerfile", or set "image"',
      });
    }
  } else {
    requirePath(file, ['build', 'dockerfile'], dockerfile, 'file', 'fix the path (relative to devbox.json)');
  }
  // The Dockerfile's folder by default, as devcontainer.json does (of a larger context, only what the
  // Dockerfile's COPY and ADD read is an input: project/inputs-hash.ts).
  const context = build.context === undefined ? dirname(dockerfile) : resolve(root, build.context);
  if (build.context !== undefined) requirePath(file, ['build', 'context'], context, 'directory', 'fix the path (relative to devbox.json)');
  return { kind: 'dockerfile', dockerfile, context, buildArgs: { ...build.args }, ...(build.target ? { target: build.target } : {}) };
}

export function projectFromDevboxJson(file: ConfigFile, root: string, hostEnv: NodeJS.ProcessEnv, home: string): ProjectConfig {
  checkedObject(file, devboxSchema());
  const json = substituteVariables(file.value as DevboxJson, { localWorkspaceFolder: root, containerWorkspaceFolder: root, localEnv: hostEnv });
  const name = json.name ?? basename(root);
  const services = json.services && Object.keys(json.services).length ? devboxServices(file, root, name, json.services) : undefined;
  if (services && json.network !== undefined)
    throw errorAt(file, ['network'], 'cannot be set with "services"', 'leave it out: the sandbox joins the network devbox makes for the services');
  return {
    source: { format: 'devbox.json', path: file.path },
    root,
    name,
    environment: environmentOf(file, root, json),
    ...(json.envImage === undefined ? {} : { envImage: json.envImage }),
    ...(json.buildCache === undefined ? {} : { buildCache: json.buildCache }),
    mounts: normalizeMounts(file, 'mounts', json.mounts, { base: root, home }),
    ...(services ? { network: 'none' as const, networkName: networkNameOf(services.group), services } : projectNetworkMode(json.network)),
    ports: normalizePorts(file, 'ports', json.ports),
    ...(json.shell === undefined ? {} : { shell: typeof json.shell === 'string' ? [json.shell] : json.shell }),
    metadata: {
      remoteEnv: normalizeEnv(file, 'env', json.env),
      ...(json.postCreateCommand === undefined ? {} : { postCreateCommand: json.postCreateCommand }),
    },
    imageMetadata: false,
    features: [],
    featureInstallOrder: [],
    home: json.home ?? 'private',
    prompt: json.prompt ?? defaultPrompt(name),
    workspaceFolder: root,
    warnings: [],
  };
}

/** devbox.json's "network": a mode, or a devbox network the sandbox joins with a namespace of its own (mode none). */
function projectNetworkMode(network: string | undefined): { network: NetworkMode; networkName?: string } {
  if (network === undefined) return { network: 'slirp4netns' };
  return NETWORK_MODES.includes(network as NetworkMode) ? { network: network as NetworkMode } : { network: 'none', networkName: network };
}
