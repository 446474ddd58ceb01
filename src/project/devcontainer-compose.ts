/**
 * devcontainer.json's Docker Compose form (dockerComposeFile, service, runServices): the `service` is the
 * project's sandbox (its image or build, environment, volumes and user), the other services run as devbox
 * containers on the project's network (compose/services.ts), where the sandbox joins them under its service's
 * name. What the sandbox cannot take from its service is named in a warning.
 */
import { basename, dirname, resolve } from 'node:path';
import { composeNetworks, composeService, readComposeFiles, serviceKeys } from '../compose/compose-file.js';
import { serviceContainerName, type ServiceGroup, type ServiceSpec } from '../compose/service-spec.js';
import { DevboxError } from '../util/errors.js';
import { errorAt, type ConfigFile } from './config-file.js';
import type { EnvironmentSource, ProjectConfig, ProjectServices } from './project-config.js';
import type { MountSpec } from '../volume/mount-spec.js';

export interface ComposeDevService {
  environment: EnvironmentSource;
  containerEnv: Record<string, string>;
  containerUser?: string;
  mounts: MountSpec[];
  services: ProjectServices;
  /** The sandbox's network: its service's Compose network, the namespace of the service it names, host or none. */
  network: Pick<ProjectConfig, 'network' | 'networkName' | 'networkShareWith'>;
  warnings: string[];
}

/** Keys of the dev service the sandbox does not take: its command is devbox's (overrideCommand), its ports forwardPorts'. */
const SANDBOX_IGNORES = ['ports', 'expose', 'healthcheck', 'restart', 'working_dir'];

/** The sandbox's network as its service says: a Compose network, another service's namespace, host or none. */
function sandboxNetwork(group: ServiceGroup, dev: ServiceSpec): ComposeDevService['network'] {
  const network = dev.network;
  if (network.kind === 'host' || network.kind === 'none') return { network: network.kind };
  if (network.kind === 'service') return { network: 'none', networkShareWith: serviceContainerName(group, network.service) };
  return { network: 'none', networkName: group.networks[network.networks[0]!.key]!.name };
}

interface ComposeJson {
  dockerComposeFile: string | string[];
  service?: string;
  runServices?: string[];
}

export function composeDevService(file: ConfigFile, json: ComposeJson, root: string, hostEnv: NodeJS.ProcessEnv): ComposeDevService {
  const folder = dirname(file.path);
  const files = (Array.isArray(json.dockerComposeFile) ? json.dockerComposeFile : [json.dockerComposeFile]).map((f) => resolve(folder, f));
  if (!files.length) throw errorAt(file, ['dockerComposeFile'], 'names no file', 'name the Compose file(s), relative to devcontainer.json');
  if (json.service === undefined) throw errorAt(file, ['dockerComposeFile'], 'needs "service": the service devbox shell enters', 'add "service": "NAME"');
  // The reference implementation's project name: the Compose file's folder, `.devcontainer` as WORKSPACE_devcontainer.
  const composeFolder = dirname(files[0]!);
  const defaultName = basename(composeFolder) === '.devcontainer' ? `${basename(root)}_devcontainer` : basename(composeFolder);
  const model = readComposeFiles(files, defaultName, hostEnv);
  const dev = composeService(model, json.service);
  for (const name of json.runServices ?? [])
    if (!model.services.has(name)) throw errorAt(file, ['runServices'], `names "${name}", which is not a service of ${files.join(', ')}`);
  const others = [...model.services.keys()].filter((name) => name !== dev.name);
  // A service that waits for the dev service waits for nothing: the sandbox starts after the services.
  const services = others.map((name) => {
    const spec = composeService(model, name);
    return { ...spec, dependsOn: spec.dependsOn.filter((d) => d.name !== dev.name) };
  });
  const inDev = services.find((s) => s.network.kind === 'service' && s.network.service === dev.name);
  if (inDev)
    throw new DevboxError(
      `${model.file}: services.${inDev.name}.network_mode: devbox cannot put a service in the network namespace of ${dev.name}, the one devbox shell enters`,
      {
        fix: `put ${inDev.name} on a network beside it`,
      },
    );
  const group: ServiceGroup = { name: model.name, project: root, file: model.file, services, networks: composeNetworks(model, [dev, ...services]) };
  const up = json.runServices ? [...json.runServices.filter((name) => name !== dev.name), ...dev.dependsOn.map((d) => d.name)] : others;
  const ignored = serviceKeys(model, dev.name).filter((key) => SANDBOX_IGNORES.includes(key));
  const warnings = ignored.length
    ? [
        `${model.file}: devbox ignores ${ignored.join(', ')} of service ${dev.name}, the one devbox shell enters (forwardPorts and devcontainer.json say the rest)`,
      ]
    : [];
  const environment: EnvironmentSource = dev.build
    ? {
        kind: 'dockerfile',
        dockerfile: dev.build.dockerfile,
        context: dev.build.context,
        buildArgs: dev.build.args,
        ...(dev.build.target ? { target: dev.build.target } : {}),
      }
    : { kind: 'image', image: dev.image };
  return {
    environment,
    containerEnv: dev.env,
    ...(dev.user ? { containerUser: dev.user } : {}),
    mounts: dev.volumes,
    services: { group, up: [...new Set(up)], files },
    network: sandboxNetwork(group, dev),
    warnings,
  };
}
