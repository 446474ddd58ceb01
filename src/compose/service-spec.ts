/**
 * A service: a container a project runs beside its sandbox (a Docker Compose service, or one of devbox.json's
 * "services"), in the terms `devbox run -d` takes. Both config formats are read into this one shape so that one
 * runner (services.ts) starts, lists and removes them.
 */
import type { HealthOptions } from '../container/options.js';
import { DevboxError } from '../util/errors.js';
import type { MountSpec } from '../volume/mount-spec.js';

export interface ServiceBuild {
  /** Absolute paths. */
  context: string;
  dockerfile: string;
  args: Record<string, string>;
  target?: string;
}

/**
 * How a service is networked: on networks of its group (each by its key in ServiceGroup.networks, with extra
 * names), in another service's network namespace (Compose's `network_mode: service:NAME`), or host/none.
 */
export type ServiceNetwork =
  | { kind: 'networks'; networks: { key: string; aliases: string[] }[] }
  | { kind: 'service'; service: string }
  | { kind: 'host' }
  | { kind: 'none' };

/** A service on its group's default network, the one every service is on unless it says otherwise. */
export const DEFAULT_SERVICE_NETWORK: ServiceNetwork = { kind: 'networks', networks: [{ key: 'default', aliases: [] }] };

export interface ServiceSpec {
  name: string;
  /** Compose's container_name; undefined: NAME-SERVICE-1. */
  containerName?: string;
  /** The image to run; with `build`, the tag the build gets (built when it is missing). */
  image: string;
  build?: ServiceBuild;
  env: Record<string, string>;
  /** Published on the host as `devbox run -p` publishes them (TCP: on a devbox network UDP cannot be). */
  ports: string[];
  /** Binds with absolute sources, and named volumes by their full names. */
  volumes: MountSpec[];
  /** undefined: the image's CMD. */
  command?: string[];
  entrypoint?: string;
  workdir?: string;
  user?: string;
  restart?: string;
  health?: HealthOptions;
  /** Services started first, and whether to wait for each to be healthy rather than only started. */
  dependsOn: { name: string; healthy: boolean }[];
  network: ServiceNetwork;
}

/** A network of a group: the devbox network's name, and whether it has no way out (Compose's `internal`). */
export interface GroupNetwork {
  name: string;
  internal: boolean;
}

/** The services of one project: what their containers, network and volumes are named after. */
export interface ServiceGroup {
  /** Compose's project name: containers are NAME-SERVICE-1, the network NAME_default, volumes NAME_VOLUME. */
  name: string;
  /** The project's root folder: which project owns the containers (a label on each). */
  project: string;
  /** Where the services are written, for messages. */
  file: string;
  services: ServiceSpec[];
  /** The networks its services (and the sandbox beside them) join, by their key in the Compose file. */
  networks: Record<string, GroupNetwork>;
}

/** Compose's rule for project names: lower-case letters, digits, "-" and "_", starting with a letter or digit. */
export function composeProjectName(text: string): string {
  const name = text.toLowerCase().replace(/[^a-z0-9_-]/g, '');
  return /^[a-z0-9]/.test(name) ? name : `devbox${name}`;
}

/** A network of the group, by the name it has among devbox networks (Compose's PROJECT_KEY). */
export function networkNameOf(group: Pick<ServiceGroup, 'name'>, key = 'default'): string {
  return `${group.name}_${key}`;
}

/** The group's one network when no service names others: PROJECT_default. */
export function defaultNetworks(group: Pick<ServiceGroup, 'name'>): Record<string, GroupNetwork> {
  return { default: { name: networkNameOf(group), internal: false } };
}

/** The container a service runs as: its container_name, or NAME-SERVICE-1. */
export function containerNameOf(group: Pick<ServiceGroup, 'name'>, service: Pick<ServiceSpec, 'name' | 'containerName'>): string {
  return service.containerName ?? `${group.name}-${service.name}-1`;
}

/** The container of the group's service `name` (its container_name, if it gives one). */
export function serviceContainerName(group: Pick<ServiceGroup, 'name' | 'services'>, name: string): string {
  return containerNameOf(group, group.services.find((s) => s.name === name) ?? { name });
}

/** A named volume of the group, by the name it has in the store. */
export function volumeNameOf(group: Pick<ServiceGroup, 'name'>, volume: string): string {
  return `${group.name}_${volume}`;
}

/**
 * The order to start services in: each after what it depends on (Compose's order). A cycle or an unknown
 * service is one line naming it.
 */
export function startOrder(services: readonly ServiceSpec[], file: string): ServiceSpec[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const order: ServiceSpec[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (service: ServiceSpec, path: string[]): void => {
    const seen = state.get(service.name);
    if (seen === 'done') return;
    if (seen === 'visiting')
      throw new DevboxError(`${file}: depends_on has a cycle: ${[...path, service.name].join(' → ')}`, { fix: 'remove one of these dependencies' });
    state.set(service.name, 'visiting');
    for (const dependency of service.dependsOn) {
      const next = byName.get(dependency.name);
      if (!next)
        throw new DevboxError(`${file}: service ${service.name} depends on ${dependency.name}, which is not a service here`, {
          fix: `define ${dependency.name}, or take it out of depends_on`,
        });
      visit(next, [...path, service.name]);
    }
    state.set(service.name, 'done');
    order.push(service);
  };
  for (const service of services) visit(service, []);
  return order;
}
