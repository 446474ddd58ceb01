/**
 * A container's records in the store, the model every container command shares (docs/containers.md):
 *
 *   containers/<id>/         mode 0700; <id> is 64 hex digits, shown as its first 12
 *     config.json            what devbox create/run decided, written once by devbox (rename rewrites `name`)
 *     state.json             what happened to it: written by devbox at create ("created"), then only by its
 *                            supervisor (native/README.md), at every start, restart, health change and exit
 *     log, log.1 …           the command's stdout and stderr, podman's k8s-file format, written by the supervisor
 *     attach                 the supervisor's socket while it runs: attach clients, stop and kill requests
 *     supervisor.log         the supervisor's own messages (why a start failed)
 *     upper/ work/ merged/   the writable layer and mountpoint (kernel overlay, fuse-overlayfs), or
 *     rootfs/                its private copy (copy backend); empty/ stands in for an image without layers
 *     hosts hostname resolv.conf   bound over /etc;  ports.json: its port forwards (devbox ports)
 *   container-names/<name>   a symlink to <id>: reserves the name (names.ts)
 *
 * Readers take no lock: every record is written to a temp file and renamed over the old one.
 */
import { randomHex } from '../util/random.js';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NameOptions } from '../network/dns.js';
import type { NetworkAttachment } from '../network/network-name.js';
import type { NetworkBackend } from '../network/options.js';
import type { PortMapping } from '../network/port-mapping.js';
import { resolveSecurity, type SecuritySpec } from '../runtime/security.js';
import type { DeviceMapping } from '../runtime/devices.js';
import type { ResourceLimits } from '../runtime/resource-limits.js';
import type { BindMount, ProcessSpec, TmpfsMount } from '../runtime/spec.js';
import type { NetworkMode } from '../settings/settings.js';
import type { StorageDriver } from '../storage/driver.js';
import type { IdMapping } from '../userns/idmap.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { DevboxError, describeError } from '../util/errors.js';
import type { VolumeUse } from '../volume/volume-store.js';

export const CONFIG_FILE = 'config.json';
export const STATE_FILE = 'state.json';
export const LOG_FILE = 'log';
export const ATTACH_SOCKET = 'attach';
export const SUPERVISOR_LOG = 'supervisor.log';

export function containersRoot(storeRoot: string): string {
  return join(storeRoot, 'containers');
}

export function containerDir(storeRoot: string, id: string): string {
  return join(containersRoot(storeRoot), id);
}

/** Docker's restart policies; `unless-stopped` acts as `always` for a tool without a daemon (nothing restarts after a reboot). */
export type RestartPolicyName = 'no' | 'always' | 'unless-stopped' | 'on-failure';

export interface RestartPolicy {
  name: RestartPolicyName;
  /** on-failure:N; 0: no limit. */
  maximumRetryCount: number;
}

/** Docker's Healthcheck config: `test` is ["CMD", arg…] or ["CMD-SHELL", command]; durations in milliseconds. */
export interface HealthcheckConfig {
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}

/**
 * --userns as given: "" (devbox's default map), `host` (root inside is the caller), `keep-id[:uid=N,gid=N]`.
 * Records of an older devbox say `keep-id` for the default map; `idMapping` is what counts.
 */
export type UsernsMode = string;

/** config.json, the container's record: everything needed to start the container again and to show it as docker inspect does. */
export interface ContainerRecord {
  version: 1;
  id: string;
  name: string;
  created: string;
  /** The image id (config digest), and the reference it was given as (docker's Config.Image). */
  image: string;
  imageName: string;
  /** The process it runs, resolved from the image and the options (ENTRYPOINT/CMD, ENV, WORKDIR, USER). */
  process: ProcessSpec;
  /** As given, for inspect: docker's Config.Entrypoint, Cmd and User. */
  entrypoint: string[];
  cmd: string[];
  user: string;
  hostname: string;
  labels: Record<string, string>;
  /** -i: the command's stdin stays open for attach. */
  interactive: boolean;
  /** What `stop` sends first ("SIGTERM" unless the image or --stop-signal says otherwise), and how long it waits. */
  stopSignal: string;
  stopTimeout: number;
  healthcheck?: HealthcheckConfig;
  restartPolicy: RestartPolicy;
  /** --rm: removed when it exits. */
  autoRemove: boolean;
  /**
   * `networks`: the devbox networks it joins (absent: none, or a record of an older devbox); `shareWith`: the
   * id of the container whose network namespace it shares (--network container:NAME). Both with mode `none`.
   */
  network: {
    mode: NetworkMode;
    publish: PortMapping[];
    allowHostLoopback: boolean;
    networks?: NetworkAttachment[];
    shareWith?: string;
    /** The isolated network's link when --network named it (pasta, slirp4netns); absent: the networkBackend setting's at each start. */
    backend?: NetworkBackend;
    /** --add-host, --dns, --dns-search, --dns-option. */
    names?: NameOptions;
  };
  /** What the helper binds, in order: host paths and the volumes' directories. */
  mounts: BindMount[];
  /** Which of `mounts` are volumes, by destination: `rm -v`, `volume rm`'s in-use check, inspect's Mounts. */
  volumes: VolumeUse[];
  tmpfs: TmpfsMount[];
  /** How its processes are confined, and every process exec joins into it (absent: a record of an older devbox). */
  security?: SecuritySpec;
  /** --device: host device nodes bound into it. */
  devices?: DeviceMapping[];
  /** -m, --cpus, --pids-limit …: written to its cgroup where a cgroup v2 subtree is delegated (runtime/cgroups.ts). */
  resources?: ResourceLimits;
  storage: StorageDriver;
  userns: UsernsMode;
  idMapping: IdMapping;
  /** Log rotation: a new file once the current one reaches maxSize bytes, keeping maxFiles in all. */
  log: { maxSize: number; maxFiles: number };
}

/** A container's writable layer: an overlay upper directory, or the copy backend's whole private copy. */
export type WritableLayer = { kind: 'upper'; dir: string } | { kind: 'copy'; dir: string };

export function writableLayer(record: Pick<ContainerRecord, 'storage'>, dir: string): WritableLayer {
  return record.storage === 'copy' ? { kind: 'copy', dir: join(dir, 'rootfs') } : { kind: 'upper', dir: join(dir, 'upper') };
}

/**
 * The layer directories of the container's files as they are now, bottom first: the image's with its writable
 * layer on top, or the copy alone. (An overlay upper directory marks an opaque folder with an xattr that the
 * layer view does not read: a folder the container deleted and made again shows the image's files too.)
 */
export function currentLayerDirs(record: Pick<ContainerRecord, 'storage'>, dir: string, imageLayerDirs: readonly string[]): string[] {
  const layer = writableLayer(record, dir);
  return layer.kind === 'copy' ? [layer.dir] : [...imageLayerDirs, layer.dir];
}

/** The binds it was given: without the container's own files devbox binds (keep-id's /etc/passwd and /etc/group). */
export function givenBinds(record: ContainerRecord, dir: string): BindMount[] {
  return record.mounts.filter((m) => dirname(m.source) !== dir);
}

/** The confinement of a container's processes: its record's, or Docker's defaults for a record that has none. */
export function containerSecurity(record: ContainerRecord): SecuritySpec {
  return record.security ?? resolveSecurity();
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthLogEntry {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

export interface HealthState {
  status: HealthStatus;
  failingStreak: number;
  /** The last five checks, oldest first. */
  log: HealthLogEntry[];
}

/** What the records say; `currentState` in lookup.ts tells whether its supervisor is still there. */
export type RecordedStatus = 'created' | 'running' | 'restarting' | 'exited';

/** state.json. Times are ISO 8601 (UTC), '' when it has not happened; start times are /proc/PID/stat field 22. */
export interface ContainerState {
  status: RecordedStatus;
  /** Host pid of the sandbox's pid 1, what `exec` joins; 0 when not running. */
  pid: number;
  pidStart: string;
  /** The process that supervises it: the helper that started pid 1, which records its exit. */
  supervisorPid: number;
  supervisorStart: string;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  restartCount: number;
  /** Why it failed to start, or how it ended when that was not its command's doing. */
  error?: string;
  health?: HealthState;
}

export const CREATED_STATE: ContainerState = {
  status: 'created',
  pid: 0,
  pidStart: '',
  supervisorPid: 0,
  supervisorStart: '',
  startedAt: '',
  finishedAt: '',
  exitCode: 0,
  restartCount: 0,
};

/** Not durable: a container's records describe processes, which do not outlive a reboot either. */
function writeJson(path: string, value: unknown): void {
  writeFileAtomicSync(path, `${JSON.stringify(value, null, 2)}\n`, { durable: false, mode: 0o600 });
}

function readJson<T>(dir: string, file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, file), 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DevboxError(`the container record ${join(dir, file)} is unreadable: ${describeError(error)}`, { fix: 'remove the container with devbox rm -f' });
  }
}

export function writeRecord(dir: string, config: ContainerRecord): void {
  writeJson(join(dir, CONFIG_FILE), config);
}

/** undefined while the container is being created (its directory exists, its config not yet). */
export function readRecord(dir: string): ContainerRecord | undefined {
  const record = readJson<ContainerRecord>(dir, CONFIG_FILE);
  if (!record) return undefined;
  // Records written before mounts named their volumes had no `volumes`, and tmpfs paths without options.
  const tmpfs = (record.tmpfs ?? []).map((t: TmpfsMount | string) =>
    typeof t === 'string' ? { destination: t, options: ['nosuid', 'nodev', 'mode=1777'] } : t,
  );
  return { ...record, volumes: record.volumes ?? [], tmpfs };
}

export function writeState(dir: string, state: ContainerState): void {
  writeJson(join(dir, STATE_FILE), state);
}

export function readState(dir: string): ContainerState {
  return readJson<ContainerState>(dir, STATE_FILE) ?? CREATED_STATE;
}

export function newContainerId(): string {
  return randomHex(32);
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}
