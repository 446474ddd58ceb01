/**
 * Running a project's services (services.ts is their one owner: Compose files and devbox.json's "services" both
 * come here): one devbox network for the project, each service a detached devbox container on it, named
 * NAME-SERVICE-1 and answering to the service's name, started after what it depends on. A container is kept
 * across `up`s while its service is unchanged (a hash of the spec, in a label, and its image) and made again
 * when it changed, as `docker compose up` does. The containers carry Compose's labels, so `devbox ps --filter` finds them too.
 */
import { createHash } from 'node:crypto';
import { idForName } from '../container/names.js';
import { currentState, isRunning, listContainers, loadContainer, type Container } from '../container/lookup.js';
import type { BuildOptions } from '../builder/builder.js';
import { ImageStore } from '../image/store.js';
import { createNetwork, deleteNetworkRecord, findNetwork, listNetworks, withNetworksLock } from '../network/networks.js';
import { resolveSecurity } from '../runtime/security.js';
import { startAndSettle } from '../sandbox/container-start.js';
import { createContainer } from '../sandbox/container-create.js';
import { removeContainers, stopContainers } from '../sandbox/container-lifecycle.js';
import { networkUsers } from '../sandbox/networks-in-use.js';
import { readSettings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';
import { containerNameOf, serviceContainerName, startOrder, type ServiceGroup, type ServiceSpec } from './service-spec.js';

export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';
const NETWORK_LABEL = 'com.docker.compose.network';
/** The project folder that owns a service container: two projects with one Compose name never share containers. */
export const FOLDER_LABEL = 'dev.devbox.project';
const HASH_LABEL = 'dev.devbox.service-hash';
/** How long `up` waits for a service a dependant needs healthy. */
const HEALTHY_TIMEOUT_MS = 300_000;

function specHash(spec: ServiceSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
}

/** The group's containers, found by their labels. */
export function serviceContainers(storeRoot: string, group: Pick<ServiceGroup, 'project'>): Container[] {
  return listContainers(storeRoot).filter((c) => c.config.labels[FOLDER_LABEL] === group.project && c.config.labels[SERVICE_LABEL] !== undefined);
}

/** The services `names` asks for and all they depend on, in start order; every service without names. */
function selected(group: ServiceGroup, names: readonly string[]): ServiceSpec[] {
  const order = startOrder(group.services, group.file);
  if (!names.length) return order;
  const wanted = new Set<string>();
  const add = (name: string): void => {
    const service = order.find((s) => s.name === name);
    if (!service) throw new DevboxError(`no service "${name}" in ${group.file}`, { fix: `name one of: ${order.map((s) => s.name).join(', ')}`, kind: 'usage' });
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const dependency of service.dependsOn) add(dependency.name);
  };
  for (const name of names) add(name);
  return order.filter((s) => wanted.has(s.name));
}

/** Makes the group's networks that are missing; one of that name that is not the group's is one line. */
async function ensureNetworks(storeRoot: string, group: ServiceGroup): Promise<void> {
  for (const [key, { name, internal }] of Object.entries(group.networks)) {
    const existing = findNetwork(storeRoot, name);
    if (existing && existing.labels[FOLDER_LABEL] !== group.project)
      throw new DevboxError(`network ${name} exists and is not the one of ${group.project}`, {
        fix: `remove it (devbox network rm ${name}), or set "name:" in ${group.file}`,
      });
    if (!existing)
      await createNetwork(storeRoot, { name, internal, labels: { [PROJECT_LABEL]: group.name, [NETWORK_LABEL]: key, [FOLDER_LABEL]: group.project } });
  }
}

/** `devbox run`'s network options for a service: its group network and names, another service's namespace, host or none. */
function networkOptions(group: ServiceGroup, service: ServiceSpec): { network: string; networkAliases?: string[]; hostname?: string } {
  const network = service.network;
  if (network.kind === 'host' || network.kind === 'none') return { network: network.kind };
  if (network.kind === 'service') return { network: `container:${serviceContainerName(group, network.service)}` };
  const [joined] = network.networks;
  return { network: group.networks[joined!.key]!.name, networkAliases: [service.name, ...joined!.aliases], hostname: service.name };
}

/**
 * A service with `build` is built at every `up`, as the sandbox's own environment is: the step cache makes an
 * unchanged one quick, and a changed Dockerfile or context gives a new image, so the container is made again.
 */
async function buildImageOf(service: ServiceSpec, beside: Pick<BuildOptions, 'showAfter' | 'signal'> = {}): Promise<void> {
  if (!service.build) return;
  const { buildImage } = await import('../builder/builder.js');
  await buildImage({
    context: service.build.context,
    file: service.build.dockerfile,
    tags: [service.image],
    buildArgs: Object.entries(service.build.args).map(([k, v]) => `${k}=${v}`),
    target: service.build.target,
    noCache: false,
    progress: 'auto',
    network: 'host',
    labels: [],
    ...beside,
  });
}

/**
 * Builds the images of the services with `build` (all, or `names` and what they need) at the same time, as
 * `docker compose build` does, and beside another build (a project's environment): their output is shown
 * one build after the other, after `showAfter` settles. The first failure stops the others before their
 * next step, as `signal` does, and is thrown once every build has settled.
 */
export async function buildServiceImages(
  group: ServiceGroup,
  names: readonly string[],
  { showAfter, signal }: Pick<BuildOptions, 'showAfter' | 'signal'> = {},
): Promise<void> {
  const failed = new AbortController();
  const stop = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
  let failure: { error: unknown } | undefined;
  const builds: Promise<void>[] = [];
  let previous = showAfter;
  for (const service of selected(group, names).filter((s) => s.build)) {
    const build = buildImageOf(service, { ...(previous ? { showAfter: previous } : {}), signal: stop }).catch((error: unknown) => {
      failure ??= { error };
      failed.abort();
    });
    builds.push(build);
    previous = build;
  }
  await Promise.all(builds);
  if (failure) throw failure.error;
}

async function waitHealthy(storeRoot: string, id: string, service: string): Promise<void> {
  const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
  for (;;) {
    const container = loadContainer(storeRoot, id);
    const state = container && currentState(container.state);
    if (!container || !state || state.status !== 'running')
      throw new DevboxError(`service ${service} stopped before it was healthy`, { fix: `see devbox services logs ${service}` });
    if (!container.config.healthcheck) throw new DevboxError(`service ${service} has no healthcheck, and a dependant waits for it to be healthy`);
    if (state.health?.status === 'healthy') return;
    if (state.health?.status === 'unhealthy') throw new DevboxError(`service ${service} is unhealthy`, { fix: `see devbox services logs ${service}` });
    if (Date.now() > deadline) throw new DevboxError(`service ${service} was not healthy after ${HEALTHY_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Starts the services (all, or `names` and what they need): made, kept, or made again when their spec changed.
 * `imagesBuilt`: the caller has just built their images (buildServiceImages).
 */
export async function servicesUp(group: ServiceGroup, names: readonly string[] = [], { imagesBuilt = false } = {}): Promise<string[]> {
  const services = selected(group, names);
  // All built first, at the same time, as `docker compose up` does.
  if (!imagesBuilt) await buildServiceImages(group, names);
  const settings = readSettings();
  const store = ImageStore.open(settings.storageRoot);
  await ensureNetworks(store.root, group);
  const started = new Map<string, string>();
  for (const service of services) {
    for (const dependency of service.dependsOn) if (dependency.healthy) await waitHealthy(store.root, started.get(dependency.name)!, dependency.name);
    const name = containerNameOf(group, service);
    const hash = specHash(service);
    const existingId = idForName(store.root, name);
    let existing = existingId ? loadContainer(store.root, existingId) : undefined;
    if (existing && existing.config.labels[FOLDER_LABEL] !== group.project)
      throw new DevboxError(`container name ${name} is taken by a container that is not a service of ${group.project}`, {
        fix: `remove it (devbox rm -f ${name}), or set "name:" in ${group.file}`,
      });
    // A changed spec, or an image rebuilt or pulled again under the same name, makes the container again.
    const image = store.find(service.image)?.id;
    if (existing && (existing.config.labels[HASH_LABEL] !== hash || (image !== undefined && existing.config.image !== image))) {
      await removeContainers([existing.id], true);
      existing = undefined;
    }
    if (existing) {
      started.set(service.name, existing.id);
      if (!isRunning(existing))
        await startAndSettle(store, existing.config, existing.dir, { detach: true, stdin: 'ignore', detachKeys: [], autoForward: false });
      continue;
    }
    const { record, dir } = await createContainer(store, settings, {
      name,
      rm: false,
      interactive: false,
      tty: false,
      mounts: service.volumes,
      volumesFrom: [],
      env: Object.entries(service.env).map(([k, v]) => `${k}=${v}`),
      ...(service.workdir ? { workdir: service.workdir } : {}),
      ...(service.user ? { user: service.user } : {}),
      ...(service.entrypoint !== undefined ? { entrypoint: service.entrypoint } : {}),
      ...networkOptions(group, service),
      // On 127.0.0.1 unless an address is given, as devbox run -p (a dev database is for this machine).
      publish: service.ports,
      pull: 'missing',
      security: resolveSecurity(),
      image: service.image,
      command: service.command ?? [],
      labels: [`${PROJECT_LABEL}=${group.name}`, `${SERVICE_LABEL}=${service.name}`, `${FOLDER_LABEL}=${group.project}`, `${HASH_LABEL}=${hash}`],
      ...(service.restart ? { restart: service.restart } : {}),
      health: service.health ?? { none: false },
    });
    started.set(service.name, record.id);
    await startAndSettle(store, record, dir, { detach: true, stdin: 'ignore', detachKeys: [], autoForward: false });
  }
  return services.map((s) => containerNameOf(group, s));
}

/** Stops the group's running containers; they start again at the next `up`. */
export async function servicesStop(group: Pick<ServiceGroup, 'project'>): Promise<string[]> {
  const storeRoot = readSettings().storageRoot;
  const running = serviceContainers(storeRoot, group).filter(isRunning);
  await stopContainers(running.map((c) => c.id));
  return running.map((c) => c.config.name);
}

/** Removes the group's containers (running ones killed) and its network; named volumes stay, as with `docker compose down`. */
export async function servicesDown(group: Pick<ServiceGroup, 'project'>): Promise<string[]> {
  const storeRoot = readSettings().storageRoot;
  const containers = serviceContainers(storeRoot, group);
  await removeContainers(
    containers.map((c) => c.id),
    true,
  );
  // A network stays while something uses it: the project's live sandbox, another group's container.
  await withNetworksLock(storeRoot, async () => {
    const users = networkUsers(storeRoot);
    for (const network of listNetworks(storeRoot))
      if (network.labels[FOLDER_LABEL] === group.project && !(users.get(network.name) ?? []).length) deleteNetworkRecord(storeRoot, network);
  });
  return containers.map((c) => c.config.name);
}
