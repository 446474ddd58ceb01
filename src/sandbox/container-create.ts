/**
 * `devbox create` (and the first half of `devbox run`): every option checked, the image found or pulled and
 * unpacked for the id map, the process resolved as Docker does, then the container's directory, name and
 * records written. Nothing is created before everything is validated, and a failure halfway removes what
 * was made, so a refused create leaves no container behind.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendEvent } from '../container/events.js';
import { findContainer } from '../container/lookup.js';
import { releaseName, reserveGeneratedName, reserveName, validateName } from '../container/names.js';
import { parseLabels, parseRestartPolicy, parseUserns, resolveHealthcheck, type HealthOptions } from '../container/options.js';
import { CREATED_STATE, containerDir, givenBinds, newContainerId, writeRecord, writeState, type ContainerRecord } from '../container/records.js';
import type { BindMount } from '../runtime/spec.js';
import { readImageFile } from '../image/image-files.js';
import { parseGroup, parsePasswd, resolveUser } from '../image/passwd.js';
import type { ImageStore, StoredImage } from '../image/store.js';
import { requireNetwork } from '../network/networks.js';
import type { NameOptions } from '../network/dns.js';
import { type NetworkOptions, resolveNetworkOptions } from '../network/options.js';
import { parsePortMapping, type PortMapping } from '../network/port-mapping.js';
import { ensureImage, type PullPolicy } from '../registry/ensure.js';
import type { SecuritySpec } from '../runtime/security.js';
import type { Settings, StorageSetting } from '../settings/settings.js';
import { selectDriver } from '../storage/driver.js';
import { checkMapped, resolveIdMapping, supplementaryGroups, type IdMapping } from '../userns/idmap.js';
import { resolveUlimits } from '../runtime/rlimits.js';
import { resolveDevices } from '../runtime/devices.js';
import { limitsUnsupported, probeCgroups } from '../runtime/cgroups.js';
import { parseLimits, type LimitOptions } from '../runtime/resource-limits.js';
import { DevboxError } from '../util/errors.js';
import { signalName, signalNumber } from '../util/signals.js';
import { warn } from '../util/warn.js';
import { checkProcessRequest, containerArgs, containerEnv, containerWorkdir, type ProcessRequest } from './container-process.js';
import { imageVolumes, resolveMounts } from './mounts.js';
import type { MountSpec } from '../volume/mount-spec.js';
import { removeAnonymousVolumes } from './volumes.js';
import { groupWithUser, invokingUser, passwdWithUser } from './identity.js';

/**
 * --volumes-from: each container's volumes and binds, at its destinations, with `:ro`/`:rw` overriding their
 * modes (default: as that container has them); its tmpfs mounts are its own. A mount given here wins on its
 * destination, as with Docker.
 */
function inheritedMounts(storeRoot: string, refs: readonly string[], given: readonly MountSpec[]): MountSpec[] {
  const taken = new Set(given.map((m) => m.target));
  const inherited: MountSpec[] = [];
  for (const ref of refs) {
    const match = /^(.*?)(?::(ro|rw))?$/.exec(ref)!;
    if (!match[1]) throw new DevboxError(`invalid --volumes-from "${ref}"`, { fix: 'give CONTAINER[:ro|rw]', kind: 'usage' });
    const { config, dir } = findContainer(storeRoot, match[1]);
    for (const mount of givenBinds(config, dir)) {
      if (taken.has(mount.destination)) continue;
      taken.add(mount.destination);
      const readonly = match[2] ? match[2] === 'ro' : mount.readonly;
      const volume = config.volumes.find((v) => v.destination === mount.destination);
      inherited.push(
        volume
          ? { type: 'volume', source: volume.name, target: mount.destination, readonly, nocopy: true }
          : { type: 'bind', source: mount.source, target: mount.destination, readonly, ...(mount.propagation ? { propagation: mount.propagation } : {}) },
      );
    }
  }
  return inherited;
}

/** keep-id's /etc/passwd and /etc/group: the image's, with an entry for the caller at their ids inside. */
function keepIdAccounts(mapping: IdMapping, lowerDirs: readonly string[]): { passwd: string; group: string } {
  const user = invokingUser(mapping, '/bin/sh');
  return { passwd: passwdWithUser(readImageFile(lowerDirs, 'etc/passwd'), user), group: groupWithUser(readImageFile(lowerDirs, 'etc/group'), user) };
}

/** Binds of the container's own passwd and group files, kept in its directory (writable, as podman's are). */
function accountMounts(dir: string, accounts: object): BindMount[] {
  return Object.keys(accounts).map((file) => ({ source: join(dir, file), destination: `/etc/${file}`, readonly: false }));
}

/** What `devbox create` takes: docker create's options, as src/cli/run-options.ts parses them. */
export interface CreateOptions {
  name?: string;
  /** --rm: removed once it exits. */
  rm: boolean;
  interactive: boolean;
  tty: boolean;
  /** -v, --mount and --tmpfs, parsed (volume/mount-spec.ts). */
  mounts: MountSpec[];
  /** --volumes-from CONTAINER[:ro|rw]. */
  volumesFrom: string[];
  env: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string;
  /** As given; resolved against the settings by network/options.ts. */
  network?: string;
  /** --network given again (devbox networks only). */
  moreNetworks?: string[];
  networkAliases?: string[];
  names?: Partial<NameOptions>;
  publish: string[];
  /** -P: every port the image EXPOSEs, each on a free host port. */
  publishAll?: boolean;
  storage?: StorageSetting;
  pull: PullPolicy;
  platform?: string;
  /** Capabilities, seccomp, masked paths: resolved and checked while the options are parsed. */
  security: SecuritySpec;
  image: string;
  command: string[];
  labels: string[];
  restart?: string;
  health: HealthOptions;
  stopSignal?: string;
  stopTimeout?: string;
  /** --ulimit NAME=SOFT[:HARD] */
  ulimits?: readonly string[];
  /** --userns: "" (default), host, keep-id[:uid=N,gid=N]. */
  userns?: string;
  /** --device HOST[:CONTAINER][:PERMS] */
  devices?: readonly string[];
  /** -m, --memory-swap, --cpus, --cpu-shares, --cpuset-cpus, --pids-limit */
  limits?: LimitOptions;
}

export interface CreatedContainer {
  record: ContainerRecord;
  dir: string;
  image: StoredImage;
  /** The image's unpacked layers for the container's id map, bottom first. */
  lowerDirs: string[];
}

/** -P: the image's EXPOSEd ports not published already, each to a free host port on 127.0.0.1. */
function exposedPorts(exposed: Record<string, object> | null | undefined, network: NetworkOptions): PortMapping[] {
  const ports = Object.keys(exposed ?? {})
    .map(parsePortMapping)
    .filter((e) => !network.publish.some((p) => p.containerPort === e.containerPort && p.protocol === e.protocol));
  if (ports.length && network.mode !== 'slirp4netns' && !network.networks?.length)
    throw new DevboxError(`cannot publish ports with network "${network.shareWith ? 'container:' : network.mode}"`, {
      fix: 'leave -P out, or use --network slirp4netns',
      kind: 'usage',
    });
  // On a devbox network only TCP is published (network/options.ts).
  return network.networks?.length ? ports.filter((p) => p.protocol === 'tcp') : ports;
}

export async function createContainer(store: ImageStore, settings: Settings, options: CreateOptions): Promise<CreatedContainer> {
  const network = resolveNetworkOptions(options, settings);
  for (const attachment of network.networks ?? []) requireNetwork(store.root, attachment.name);
  const name = options.name === undefined ? undefined : validateName(options.name);
  const labels = parseLabels(options.labels);
  const restartPolicy = parseRestartPolicy(options.restart ?? 'no');
  if (restartPolicy.name !== 'no' && options.rm)
    throw new DevboxError('conflicting options: --restart and --rm', { fix: 'a container removed when it exits cannot be restarted', kind: 'usage' });
  const stopSignal = options.stopSignal === undefined ? undefined : `SIG${signalName(signalNumber(options.stopSignal))}`;
  const stopTimeout = options.stopTimeout === undefined ? 10 : Number(options.stopTimeout);
  if (!Number.isInteger(stopTimeout) || stopTimeout < -1)
    throw new DevboxError(`--stop-timeout: expected whole seconds, not "${options.stopTimeout}"`, { kind: 'usage' });
  const rlimits = resolveUlimits(options.ulimits ?? []);
  const devices = resolveDevices(options.devices ?? []);
  const resources = parseLimits(options.limits ?? {});
  const unenforced = Object.keys(resources).length ? limitsUnsupported(resources, probeCgroups()) : undefined;
  if (unenforced) warn(unenforced);
  const userns = parseUserns(options.userns ?? '');
  const { mapping, warning } = resolveIdMapping(undefined, userns);
  if (warning) warn(warning);
  const id = newContainerId();
  const hostname = options.hostname ?? id.slice(0, 12);
  const request: ProcessRequest = {
    command: options.command,
    entrypoint: options.entrypoint,
    env: options.env,
    workdir: options.workdir,
    tty: options.tty,
    hostname,
  };
  checkProcessRequest(request); // before a pull: a refused run changes nothing
  const image = await ensureImage(store, options.image, { pull: options.pull, platform: options.platform });
  const lowerDirs = await store.layerDirs(image, mapping);
  const storage = await selectDriver(options.storage ?? settings.storage, store.root, mapping);
  const config = image.config.config ?? {};
  if (options.publishAll) network.publish.push(...exposedPorts(config.ExposedPorts, network));
  // keep-id: the caller, with an /etc/passwd and /etc/group entry, is the command's user (as podman's).
  const accounts = userns.mode === 'keep-id' ? keepIdAccounts(mapping, lowerDirs) : undefined;
  const passwd = accounts?.passwd ?? readImageFile(lowerDirs, 'etc/passwd');
  const group = accounts?.group ?? readImageFile(lowerDirs, 'etc/group');
  const user = resolveUser(options.user || (accounts ? `${mapping.uid}` : config.User) || '', parsePasswd(passwd), parseGroup(group));
  checkMapped(mapping, user.uid, user.gid);
  const given = [...options.mounts, ...inheritedMounts(store.root, options.volumesFrom, options.mounts)];
  // Volumes are made (and filled from the image) last, once nothing else can refuse the container.
  const mounts = await resolveMounts([...given, ...imageVolumes(config.Volumes, given)], { storeRoot: store.root, mapping, lowerDirs });
  const dir = containerDir(store.root, id);
  const record: ContainerRecord = {
    version: 1,
    id,
    name: name ?? '',
    created: new Date().toISOString(),
    image: image.id,
    imageName: options.image,
    process: {
      args: containerArgs(config, request),
      env: containerEnv(config, request, user.home, process.env),
      cwd: containerWorkdir(config, request),
      uid: user.uid,
      gid: user.gid,
      groups: supplementaryGroups(mapping, user.groups),
      terminal: options.tty,
      ...(rlimits.length ? { rlimits } : {}),
    },
    entrypoint: options.entrypoint !== undefined ? (options.entrypoint ? [options.entrypoint] : []) : (config.Entrypoint ?? []),
    cmd: options.command.length || options.entrypoint !== undefined ? options.command : (config.Cmd ?? []),
    user: options.user ?? config.User ?? '',
    hostname,
    labels: { ...(config.Labels ?? {}), ...labels },
    interactive: options.interactive,
    stopSignal: stopSignal ?? config.StopSignal ?? 'SIGTERM',
    stopTimeout,
    healthcheck: resolveHealthcheck(options.health, config.Healthcheck),
    restartPolicy,
    autoRemove: options.rm,
    network: {
      mode: network.mode,
      ...(network.backend ? { backend: network.backend } : {}),
      publish: network.publish,
      allowHostLoopback: network.allowHostLoopback,
      ...(network.networks ? { networks: network.networks } : {}),
      ...(network.names ? { names: network.names } : {}),
      ...(network.shareWith ? { shareWith: findContainer(store.root, network.shareWith).id } : {}),
    },
    mounts: accounts ? [...accountMounts(dir, accounts), ...mounts.binds] : mounts.binds,
    volumes: mounts.volumes,
    tmpfs: mounts.tmpfs,
    security: options.security,
    ...(devices.length ? { devices } : {}),
    ...(Object.keys(resources).length ? { resources } : {}),
    storage,
    userns: options.userns ?? '',
    idMapping: mapping,
    log: { maxSize: 10_000_000, maxFiles: 3 },
  };

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    if (accounts) for (const file of ['passwd', 'group'] as const) writeFileSync(join(dir, file), accounts[file], { mode: 0o644 });
    record.name = name ?? reserveGeneratedName(store.root, id);
    if (name) reserveName(store.root, name, id);
    writeRecord(dir, record);
    writeState(dir, CREATED_STATE);
  } catch (error) {
    if (record.name) releaseName(store.root, record.name, id);
    rmSync(dir, { recursive: true, force: true });
    await removeAnonymousVolumes(store.root, record);
    throw error;
  }
  appendEvent(store.root, { action: 'create', id, name: record.name, image: options.image });
  return { record, dir, image, lowerDirs };
}
