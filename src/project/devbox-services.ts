/**
 * devbox.json's "services" → the ServiceGroup the one runner (compose/services.ts) starts, for repos without a
 * Compose file: each an image or a Dockerfile, with env, volumes, a command, what it depends on and a health
 * command. Named volumes are the project's own, as in Compose (PROJECT_NAME): two projects made from one
 * template do not share a database.
 */
import { dirname, resolve } from 'node:path';
import { splitCommand } from '../compose/command-words.js';
import { composeProjectName, DEFAULT_SERVICE_NETWORK, defaultNetworks, volumeNameOf, type ServiceSpec } from '../compose/service-spec.js';
import { errorAt, type ConfigFile } from './config-file.js';
import { projectMount, requirePath } from './normalize.js';
import type { ProjectServices } from './project-config.js';
import { parseVolumeFlag } from '../volume/mount-spec.js';

export interface DevboxService {
  image?: string;
  build?: { dockerfile?: string; context?: string; args?: Record<string, string> };
  env?: Record<string, string>;
  ports?: (string | number)[];
  volumes?: string[];
  command?: string | string[];
  dependsOn?: string[];
  healthcheck?: string;
}

function serviceSpec(file: ConfigFile, root: string, group: string, name: string, json: DevboxService): ServiceSpec {
  const at = (...path: (string | number)[]) => ['services', name, ...path];
  if (json.image === undefined && json.build === undefined)
    throw errorAt(file, at(), 'needs "image" or "build"', 'name the image to run, or the Dockerfile to build');
  let build: ServiceSpec['build'];
  if (json.build) {
    const dockerfile = resolve(root, json.build.dockerfile ?? 'Dockerfile');
    requirePath(file, at('build', 'dockerfile'), dockerfile, 'file', 'paths in devbox.json are relative to its folder');
    const context = json.build.context === undefined ? dirname(dockerfile) : resolve(root, json.build.context);
    requirePath(file, at('build', 'context'), context, 'directory', 'paths in devbox.json are relative to its folder');
    build = { dockerfile, context, args: { ...json.build.args } };
  }
  const volumes = (json.volumes ?? []).map((volume, index) => {
    const parsed = projectMount(volume, { base: root }, parseVolumeFlag);
    if (!parsed.ok) throw errorAt(file, at('volumes', index), parsed.reason);
    const mount = parsed.value;
    return mount.type === 'volume' && mount.source ? { ...mount, source: volumeNameOf({ name: group }, mount.source) } : mount;
  });
  for (const [index, dependency] of (json.dependsOn ?? []).entries())
    if (dependency === name) throw errorAt(file, at('dependsOn', index), 'names the service itself');
  const where = `${file.path}: services.${name}.command`;
  return {
    name,
    image: json.image ?? `localhost/${group}-${name}:latest`,
    ...(build ? { build } : {}),
    env: { ...json.env },
    ports: (json.ports ?? []).map(String),
    volumes,
    ...(json.command === undefined ? {} : { command: typeof json.command === 'string' ? splitCommand(json.command, where) : json.command }),
    ...(json.healthcheck ? { health: { none: false, cmd: json.healthcheck, interval: '2s', startInterval: '1s' } } : {}),
    dependsOn: (json.dependsOn ?? []).map((dependency) => ({ name: dependency, healthy: false })),
    network: DEFAULT_SERVICE_NETWORK,
  };
}

/** The project's services, all started with the sandbox. */
export function devboxServices(file: ConfigFile, root: string, projectName: string, services: Record<string, DevboxService>): ProjectServices {
  const group = composeProjectName(projectName);
  const specs = Object.entries(services).map(([name, json]) => {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name))
      throw errorAt(file, ['services', name], 'is not a valid service name', 'use letters, digits, "_", "." and "-", starting with a letter or digit', true);
    return serviceSpec(file, root, group, name, json);
  });
  return {
    group: { name: group, project: root, file: file.path, services: specs, networks: defaultNetworks({ name: group }) },
    up: specs.map((s) => s.name),
    files: [],
  };
}
