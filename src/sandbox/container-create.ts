/**
 * `devbox create` (and the first half of `devbox run`): every option checked, the image found or pulled and
 * unpacked for the id map, the process resolved as Docker does, then the container's directory, name and
 * records written. Nothing is created before everything is validated, and a failure halfway removes what
 * was made, so a refused create leaves no container behind.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { appendEvent } from '../container/events.js';
import { releaseName, reserveGeneratedName, reserveName, validateName } from '../container/names.js';
import { parseLabels, parseRestartPolicy, resolveHealthcheck, type HealthOptions } from '../container/options.js';
import { CREATED_STATE, containerDir, newContainerId, writeRecord, writeState, type ContainerRecord } from '../container/records.js';
import { readImageFile } from '../image/image-files.js';
import { parseGroup, parsePasswd, resolveUser } from '../image/passwd.js';
import type { ImageStore, StoredImage } from '../image/store.js';
import { resolveNetworkOptions } from '../network/options.js';
import { ensureImage, type PullPolicy } from '../registry/ensure.js';
import type { SecuritySpec } from '../runtime/security.js';
import type { Settings, StorageSetting } from '../settings/settings.js';
import { selectDriver } from '../storage/driver.js';
import { hostIdFor, resolveIdMapping, type IdMapping } from '../userns/idmap.js';
import { resolveUlimits } from '../runtime/rlimits.js';
import { DevboxError } from '../util/errors.js';
import { signalName, signalNumber } from '../util/signals.js';
import { warn } from '../util/warn.js';
import { checkProcessRequest, containerArgs, containerEnv, containerWorkdir, type ProcessRequest } from './container-process.js';
import { parseVolume } from './volumes.js';

function checkMapped(mapping: IdMapping, uid: number, gid: number): void {
  if (hostIdFor(mapping.uidMap, uid) !== undefined && hostIdFor(mapping.gidMap, gid) !== undefined) return;
  throw new DevboxError(`user ${uid}:${gid} is not mapped into the user namespace`, {
    fix: mapping.full
      ? 'give this user a larger range in /etc/subuid and /etc/subgid'
      : 'add a range for this user to /etc/subuid and /etc/subgid (see "devbox doctor")',
  });
}

/** What `devbox create` takes: docker create's options, as src/cli/run-options.ts parses them. */
export interface CreateOptions {
  name?: string;
  /** --rm: removed once it exits. */
  rm: boolean;
  interactive: boolean;
  tty: boolean;
  volumes: string[];
  env: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string;
  /** As given; resolved against the settings by network/options.ts. */
  network?: string;
  publish: string[];
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
}

export interface CreatedContainer {
  record: ContainerRecord;
  dir: string;
  image: StoredImage;
  /** The image's unpacked layers for the container's id map, bottom first. */
  lowerDirs: string[];
}

export async function createContainer(store: ImageStore, settings: Settings, options: CreateOptions): Promise<CreatedContainer> {
  const network = resolveNetworkOptions(options, settings);
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
  const mounts = options.volumes.map(parseVolume);
  const { mapping, warning } = resolveIdMapping();
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
  const user = resolveUser(
    options.user || config.User || '',
    parsePasswd(readImageFile(lowerDirs, 'etc/passwd')),
    parseGroup(readImageFile(lowerDirs, 'etc/group')),
  );
  checkMapped(mapping, user.uid, user.gid);
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
      // With a single-id map setgroups is denied: no supplementary groups (the id map's warning says so).
      groups: mapping.full ? user.groups : [],
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
    network: { mode: network.mode, publish: network.publish, allowHostLoopback: network.allowHostLoopback },
    mounts,
    tmpfs: [],
    security: options.security,
    storage,
    userns: 'keep-id',
    idMapping: mapping,
    log: { maxSize: 10_000_000, maxFiles: 3 },
  };

  const dir = containerDir(store.root, id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    record.name = name ?? reserveGeneratedName(store.root, id);
    if (name) reserveName(store.root, name, id);
    writeRecord(dir, record);
    writeState(dir, CREATED_STATE);
  } catch (error) {
    if (record.name) releaseName(store.root, record.name, id);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  appendEvent(store.root, { action: 'create', id, name: record.name, image: options.image });
  return { record, dir, image, lowerDirs };
}
