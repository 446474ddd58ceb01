/**
 * A project's live sandbox: namespaces and a mounted root file system kept up by the helper's pid 1
 * (--keep-alive), joined by every `devbox shell`/`devbox run` of the project (--join). It lives in
 * <store>/sandboxes/<key>/: the writable layer (kept across stop and start until `rm` or a new image), a
 * private home, the files bound over /etc, a log of the helper's messages and state.json while it is up.
 */
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ImageStore, StoredImage } from '../image/store.js';
import type { NetworkOptions } from '../network/options.js';
import type { OtherHostPort } from '../network/publish.js';
import { EXIT_GRACE_MS, type NetworkedSandbox } from '../network/sandbox-network.js';
import { lastHelperMessage } from '../runtime/helper.js';
import { startLiveSandbox, type StartingSandbox } from '../runtime/launch.js';
import { resolveSecurity } from '../runtime/security.js';
import type { LiveSandboxSpec } from '../runtime/spec.js';
import type { StorageSetting } from '../settings/settings.js';
import { selectDriver } from '../storage/driver.js';
import { projectIdMapping, type IdMapping } from '../userns/idmap.js';
import { removeAsNamespaceRoot } from '../storage/remove.js';
import { DevboxError } from '../util/errors.js';
import { nameFileMounts } from './containers.js';
import { groupWithUser, imageAccount, invokingUser, passwdWithUser, type AccountRequest, type SandboxAccounts } from './identity.js';
import { attachLiveNetwork, type LiveNetworkJoin, withLiveNetwork, withSharedNetwork } from './live-network.js';
import { resolveMounts } from './mounts.js';
import { isLive, readSandboxState, sandboxDir, writeSandboxState, type LiveSandboxState } from './live-state.js';
import { DEFAULT_PATH } from '../image/oci.js';
import { copyImageTree, imageHasFile, readImageFile } from '../image/image-files.js';
import { prepareStart } from './start-preparation.js';
import { caBundleMounts } from './ca-bundle.js';
import { isRunning, type ProcessRecord, signalIfRunning, startTimeOf, whenGone } from '../util/processes.js';
import { warn } from '../util/warn.js';
import type { MountSpec } from '../volume/mount-spec.js';

export interface LiveSandboxRequest {
  projectRoot: string;
  /** Shown by `devbox ps` and in the prompt. */
  name: string;
  image: StoredImage;
  /** Identifies the inputs the image was made from; a sandbox made from other inputs is replaced. */
  inputsHash: string;
  /** The project's mounts, as the config gives them: volumes are made (and filled) when the sandbox starts. */
  mounts: MountSpec[];
  network: NetworkOptions;
  /** For error messages: how to change the project's network in its config. */
  networkFixes: { withoutSlirp4netns?: string; otherHostPort: OtherHostPort };
  /** `private`: a home directory of the sandbox's own at the host home's path; `host`: the host's home. */
  home: 'private' | 'host';
  /** The user's login shell inside; undefined: bash when the image has it, else sh. */
  shell?: string;
  /** The sandbox's host name; default: made from `name`. */
  hostname?: string;
  /** Enter as this account of the image instead of as the invoking user; its home is the image's. */
  account?: AccountRequest;
  /** A PEM file of CAs to trust besides the image's (the caCertificates setting). */
  caCertificates?: string;
  storage: StorageSetting;
}

/**
 * What `devbox shell` starts bash with (--rcfile): the start-up files bash would have read, then the
 * project's prompt prefix, so the user's own prompt stays and shows that this is the sandbox.
 */
const BASHRC = `# devbox: the usual start-up files, then the sandbox's prompt prefix
[ -r /etc/bash.bashrc ] && . /etc/bash.bashrc
[ -r ~/.bashrc ] && . ~/.bashrc
PS1="\${DEVBOX_PROMPT-}\${PS1-}"
`;

function defaultShell(lowerDirs: readonly string[]): string {
  // Links are followed inside the image: with a merged /usr, /bin is a link to usr/bin.
  return imageHasFile(lowerDirs, 'bin/bash') ? '/bin/bash' : '/bin/sh';
}

/** Who enters, and the /etc/passwd and /etc/group that say so. */
function sandboxAccounts(request: LiveSandboxRequest, mapping: IdMapping, lowerDirs: readonly string[]): SandboxAccounts {
  const passwd = readImageFile(lowerDirs, 'etc/passwd');
  const group = readImageFile(lowerDirs, 'etc/group');
  const shell = request.shell ?? defaultShell(lowerDirs);
  if (request.account) return imageAccount(mapping, passwd, group, request.account, shell);
  const user = invokingUser(mapping, shell);
  return { user, passwd: passwdWithUser(passwd, user), group: groupWithUser(group, user) };
}

/** The image's Env, with Docker's default PATH when it sets none (as `devbox run` and podman give it). */
function baseEnv(image: StoredImage): string[] {
  const env = image.config.config?.Env ?? [];
  return env.some((entry) => entry.startsWith('PATH=')) ? env : [`PATH=${DEFAULT_PATH}`, ...env];
}

/** Attaches something (the network) to the sandbox before it is released; returns processes that end with it. */
type Attach = (sandbox: NetworkedSandbox) => Promise<ProcessRecord[]>;

/** The processes of a sandbox being started, recorded before it can outlive the command starting it. */
interface StartedProcesses {
  pid: number;
  outerPid: number;
  network?: ProcessRecord[];
}

/**
 * Starts the helper detached; `attach` runs between namespace creation and setup. `record` writes down every
 * process the sandbox has before it is let go (the helper dies with this command until then). Resolves once
 * the sandbox is up. If anything fails, the helper ends and takes the sandbox with it.
 */
async function startHelper(
  dir: string,
  spec: LiveSandboxSpec,
  name: string,
  record: (processes: StartedProcesses) => void,
  attach?: Attach,
): Promise<StartedProcesses> {
  const log = join(dir, 'log');
  const logFd = openSync(log, 'w', 0o600);
  const beforeStart = async (sandbox: StartingSandbox): Promise<StartedProcesses> => {
    const processes: StartedProcesses = { pid: sandbox.pid, outerPid: sandbox.supervisorPid };
    record(processes);
    if (!attach) return processes;
    processes.network = await attach(sandbox);
    record(processes);
    return processes;
  };
  let started: Awaited<ReturnType<typeof startLiveSandbox<StartedProcesses>>>;
  try {
    started = await startLiveSandbox(spec, { cwd: dir, log: logFd, beforeStart });
  } finally {
    closeSync(logFd);
  }
  if (!started?.attached) throw new DevboxError(`the sandbox of ${name} failed to start: ${lastHelperMessage(log)}`, { fix: `see ${log} and "devbox doctor"` });
  return started.attached;
}

/** Starts the project's sandbox; the caller holds the store lock, so exactly one starts. */
async function startSandbox(store: ImageStore, request: LiveSandboxRequest, dir: string): Promise<LiveSandboxStart> {
  const network = request.network;
  const { mapping, warning } = projectIdMapping();
  if (warning) warn(`${warning}`);
  const previous = readSandboxState(dir);
  if (previous && (previous.image !== request.image.id || previous.inputsHash !== request.inputsHash)) {
    // A new environment: the writable layer of the old one does not belong on top of it.
    await removeAsNamespaceRoot(mapping, ['upper', 'work', 'rootfs'].map((d) => join(dir, d)).filter(existsSync));
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fresh = !existsSync(join(dir, 'upper')) && !existsSync(join(dir, 'rootfs'));
  const hostname =
    request.hostname ??
    (request.name
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63) ||
      'devbox');
  const { slirp, lowerDirs, rootfs, names } = await prepareStart(store, {
    image: request.image,
    dir,
    mapping,
    driver: await selectDriver(request.storage, store.root, mapping),
    hostname,
    network,
    withoutSlirp4netns: request.networkFixes.withoutSlirp4netns,
  });
  const mounts = await resolveMounts(request.mounts, { storeRoot: store.root, mapping, lowerDirs });
  const { user, passwd, group } = sandboxAccounts(request, mapping, lowerDirs);
  const etc = join(dir, 'etc');
  mkdirSync(etc, { recursive: true });
  writeFileSync(join(etc, 'passwd'), passwd);
  writeFileSync(join(etc, 'group'), group);
  writeFileSync(join(etc, 'bashrc'), BASHRC);
  // An image account keeps the home the image gives it, in the writable layer.
  let home: string | undefined = request.account ? undefined : homedir();
  if (request.home === 'private' && home !== undefined) {
    home = join(dir, 'home');
    const created = !existsSync(home);
    mkdirSync(home, { recursive: true, mode: 0o700 });
    // A new home starts as useradd makes one: from the image's /etc/skel (a login's colours and aliases).
    if (created) copyImageTree(lowerDirs, 'etc/skel', home);
  }
  const spec: LiveSandboxSpec = {
    idMapping: mapping,
    rootfs,
    mounts: [
      { source: join(etc, 'passwd'), destination: '/etc/passwd', readonly: true },
      { source: join(etc, 'group'), destination: '/etc/group', readonly: true },
      { source: join(etc, 'bashrc'), destination: '/etc/devbox/bashrc', readonly: true },
      ...nameFileMounts(names),
      ...(home === undefined ? [] : [{ source: home, destination: user.home, readonly: false }]),
      { source: request.projectRoot, destination: request.projectRoot, readonly: false },
      ...mounts.binds,
      ...(request.caCertificates ? caBundleMounts(dir, lowerDirs, request.caCertificates) : []),
    ],
    tmpfs: mounts.tmpfs,
    hostname,
    network: network.mode,
    security: resolveSecurity(),
  };
  const attach: Attach | undefined = slirp && ((sandbox) => attachLiveNetwork(slirp, sandbox, network, dir, request.networkFixes.otherHostPort));
  const created = new Date().toISOString();
  const stateOf = ({ pid, outerPid, network }: StartedProcesses): LiveSandboxState => ({
    project: request.projectRoot,
    name: request.name,
    image: request.image.id,
    inputsHash: request.inputsHash,
    hostname,
    user,
    pid,
    outerPid,
    pidStart: startTimeOf(pid) ?? '',
    outerStart: startTimeOf(outerPid) ?? '',
    created,
    imageEnv: baseEnv(request.image),
    volumes: mounts.volumes.map((v) => v.name),
    security: spec.security,
    ...(network ? { network } : {}),
    ...(request.network.networks?.length ? { networks: request.network.networks.map((n) => n.name) } : {}),
  });
  // Recorded as starting (not joinable) first: a command killed from here on leaves a sandbox stop can end.
  const start = (joined?: LiveNetworkJoin) =>
    startHelper(
      dir,
      { ...spec, ...joined?.spec },
      request.name,
      (processes) => writeSandboxState(dir, { ...stateOf(processes), starting: true }),
      joined?.attach ?? attach,
    );
  const onNetwork = network.networks?.[0]?.name;
  const ports = { options: network, otherHostPort: request.networkFixes.otherHostPort };
  const started = onNetwork
    ? await withLiveNetwork(store.root, onNetwork, mapping, dir, hostname, ports, start)
    : network.shareWith
      ? await withSharedNetwork(store.root, network.shareWith, mapping, dir, ports, start)
      : await start();
  const state = stateOf(started);
  writeSandboxState(dir, state);
  return { state, fresh, started: true };
}

export interface LiveSandboxStart {
  state: LiveSandboxState;
  /** Its writable layer is new: the caller runs the project's create-time commands. */
  fresh: boolean;
  /** This call started it (another entry may have, meanwhile). */
  started: boolean;
}

/** The project's live sandbox, started when there is none (or the one there was made from other inputs). */
export async function ensureLiveSandbox(store: ImageStore, request: LiveSandboxRequest): Promise<LiveSandboxStart> {
  const dir = sandboxDir(store.root, request.projectRoot);
  return store.withLock(async () => {
    const current = readSandboxState(dir);
    // Same inputs, same environment: entries that built the image at the same moment may hold two builds of it.
    if (current && isLive(current) && current.inputsHash === request.inputsHash) return { state: current, fresh: false, started: false };
    // Also when it was killed: its slirp4netns may still hold the host ports the new one publishes. One still
    // recorded as starting lost its starter (we hold the lock it started under): it is ended, never joined.
    if (current) await stopLiveSandbox(current);
    return startSandbox(store, request, dir);
  });
}

/** Waits until the processes have exited, SIGKILLs them after `graceMs`. */
async function awaitExit(processes: readonly ProcessRecord[], graceMs: number): Promise<void> {
  const timer = setTimeout(() => {
    for (const p of processes) signalIfRunning(p, 'SIGKILL');
  }, graceMs);
  await whenGone(processes, 20);
  clearTimeout(timer);
}

/**
 * Ends the sandbox and every process in it: SIGTERM to its helper, SIGKILL if it is still up after 5 s; then
 * waits for its network processes, which end with it (and are killed if they have not soon after).
 */
export async function stopLiveSandbox(state: LiveSandboxState): Promise<void> {
  const outer = { pid: state.outerPid, start: state.outerStart };
  const pid1 = { pid: state.pid, start: state.pidStart };
  // Without its supervising helper pid 1 dies too (death signal), unless it is on its way out.
  if (isRunning(outer)) signalIfRunning(outer, 'SIGTERM');
  else signalIfRunning(pid1, 'SIGKILL');
  await awaitExit([outer, pid1], 5000);
  await awaitExit(state.network ?? [], EXIT_GRACE_MS);
}

/** Discards a stopped sandbox's writable layer and home (`devbox rm`). */
export async function removeSandboxDir(dir: string): Promise<void> {
  const { mapping } = projectIdMapping();
  await removeAsNamespaceRoot(mapping, [dir]);
}
