/**
 * A project's live sandbox: namespaces and a mounted root file system kept up by the helper's pid 1
 * (--keep-alive), joined by every `devbox shell`/`devbox run` of the project (--join). It lives in
 * <store>/sandboxes/<key>/: the writable layer (kept across stop and start until `rm` or a new image), a
 * private home, the files bound over /etc, a log of the helper's messages and state.json while it is up.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import type { ImageStore, StoredImage } from '../image/store.js';
import { networkHostsEntries } from '../network/dns.js';
import { keepAliveArgs, type BindMount, type LiveSandboxSpec } from '../runtime/spec.js';
import type { StorageSetting } from '../settings/settings.js';
import { selectDriver } from '../storage/driver.js';
import { helperPath } from '../userns/helper.js';
import { resolveIdMapping } from '../userns/idmap.js';
import { removeAsNamespaceRoot } from '../userns/remove.js';
import { DevboxError } from '../util/errors.js';
import { writeNameFiles } from './containers.js';
import { groupWithUser, invokingUser, passwdWithUser } from './identity.js';
import { isLive, readSandboxState, sandboxDir, writeSandboxState, type LiveSandboxState } from './live-state.js';
import { imageHasFile, readImageFile } from '../image/passwd.js';
import { assembleRootfs } from './rootfs.js';
import { startTimeOf } from '../util/processes.js';

export interface LiveSandboxRequest {
  projectRoot: string;
  /** Shown by `devbox ps` and in the prompt. */
  name: string;
  image: StoredImage;
  /** Identifies the inputs the image was made from; a sandbox made from other inputs is replaced. */
  inputsHash: string;
  mounts: BindMount[];
  /** Paths inside that get an empty tmpfs. */
  tmpfs: string[];
  network: 'host' | 'none';
  /** `private`: a home directory of the sandbox's own at the host home's path; `host`: the host's home. */
  home: 'private' | 'host';
  /** The user's login shell inside; undefined: bash when the image has it, else sh. */
  shell?: string;
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
  // Debian and most distributions have merged /usr: /bin is a link to usr/bin.
  return imageHasFile(lowerDirs, 'usr/bin/bash') || imageHasFile(lowerDirs, 'bin/bash') ? '/bin/bash' : '/bin/sh';
}

/** The last line the helper wrote to the sandbox's log: why it failed to start. */
function lastLogLine(log: string): string {
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  return lines[lines.length - 1].replace(/^devbox-helper: /, '') || 'no message';
}

/** Spawns the helper detached (it outlives this command) and waits for the host pid of the sandbox's pid 1. */
function startHelper(dir: string, spec: LiveSandboxSpec, name: string): Promise<{ pid: number; outerPid: number }> {
  const log = join(dir, 'log');
  const logFd = openSync(log, 'w', 0o600);
  const child = spawn(helperPath(), keepAliveArgs(spec), { cwd: dir, detached: true, stdio: ['ignore', 'pipe', logFd] });
  closeSync(logFd);
  return new Promise((resolve, reject) => {
    let out = '';
    const stdout = child.stdout!; // a pipe, as asked
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    stdout.once('end', () => {
      const pid = Number(out.trim());
      if (Number.isInteger(pid) && pid > 1) {
        child.unref();
        resolve({ pid, outerPid: child.pid! });
        return;
      }
      child.once('exit', () =>
        reject(new DevboxError(`the sandbox of ${name} failed to start: ${lastLogLine(log)}`, { fix: `see ${log} and "devbox doctor"`, exitCode: 125 })),
      );
    });
  });
}

/** Starts the project's sandbox; the caller holds the store lock, so exactly one starts. */
async function startSandbox(store: ImageStore, request: LiveSandboxRequest, dir: string): Promise<{ state: LiveSandboxState; fresh: boolean }> {
  const { mapping, warning } = resolveIdMapping();
  if (warning) process.stderr.write(`devbox: warning: ${warning}\n`);
  const previous = readSandboxState(dir);
  if (previous && (previous.image !== request.image.id || previous.inputsHash !== request.inputsHash)) {
    // A new environment: the writable layer of the old one does not belong on top of it.
    await removeAsNamespaceRoot(mapping, ['upper', 'work', 'rootfs'].map((d) => join(dir, d)).filter(existsSync));
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fresh = !existsSync(join(dir, 'upper')) && !existsSync(join(dir, 'rootfs'));
  const lowerDirs = await store.layerDirs(request.image, mapping);
  const driver = await selectDriver(request.storage, store.root, mapping);
  const user = invokingUser(mapping, request.shell ?? defaultShell(lowerDirs));
  const etc = join(dir, 'etc');
  mkdirSync(etc, { recursive: true });
  writeFileSync(join(etc, 'passwd'), passwdWithUser(readImageFile(lowerDirs, 'etc/passwd'), user));
  writeFileSync(join(etc, 'group'), groupWithUser(readImageFile(lowerDirs, 'etc/group'), user));
  writeFileSync(join(etc, 'bashrc'), BASHRC);
  const hostname = request.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'devbox';
  const names = writeNameFiles({ id: basename(dir), dir }, hostname, networkHostsEntries({ mode: request.network, allowHostLoopback: false }, hostname));
  let home = homedir();
  if (request.home === 'private') {
    home = join(dir, 'home');
    mkdirSync(home, { recursive: true, mode: 0o700 });
  }
  const spec: LiveSandboxSpec = {
    idMapping: mapping,
    rootfs: await assembleRootfs(driver, mapping, lowerDirs, dir),
    mounts: [
      { source: join(etc, 'passwd'), destination: '/etc/passwd', readonly: true },
      { source: join(etc, 'group'), destination: '/etc/group', readonly: true },
      { source: join(etc, 'bashrc'), destination: '/etc/devbox/bashrc', readonly: true },
      { source: names.hosts, destination: '/etc/hosts', readonly: false },
      { source: names.hostname, destination: '/etc/hostname', readonly: false },
      ...(existsSync('/etc/resolv.conf') ? [{ source: '/etc/resolv.conf', destination: '/etc/resolv.conf', readonly: true }] : []),
      { source: home, destination: user.home, readonly: false },
      { source: request.projectRoot, destination: request.projectRoot, readonly: false },
      ...request.mounts,
    ],
    tmpfs: request.tmpfs,
    hostname,
    network: request.network,
  };
  const { pid, outerPid } = await startHelper(dir, spec, request.name);
  const state: LiveSandboxState = {
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
    created: new Date().toISOString(),
    imageEnv: request.image.config.config?.Env ?? [],
  };
  writeSandboxState(dir, state);
  return { state, fresh };
}

/**
 * The project's live sandbox, started when there is none (or the one there was made from other inputs).
 * `fresh` says its writable layer is new: the caller runs the project's postCreate command then.
 */
export async function ensureLiveSandbox(store: ImageStore, request: LiveSandboxRequest): Promise<{ state: LiveSandboxState; fresh: boolean }> {
  const dir = sandboxDir(store.root, request.projectRoot);
  return store.withLock(async () => {
    const current = readSandboxState(dir);
    if (current && isLive(current)) {
      if (current.image === request.image.id && current.inputsHash === request.inputsHash) return { state: current, fresh: false };
      await stopLiveSandbox(current);
    }
    return startSandbox(store, request, dir);
  });
}

function alive(pid: number, start: string): boolean {
  return startTimeOf(pid) === start;
}

/** Ends the sandbox and every process in it: SIGTERM to its helper, SIGKILL if it is still up after 5 s. */
export async function stopLiveSandbox(state: LiveSandboxState): Promise<void> {
  if (!alive(state.outerPid, state.outerStart)) {
    // The supervising helper is gone; pid 1 dies with it (death signal), unless it is on its way out.
    if (alive(state.pid, state.pidStart)) process.kill(state.pid, 'SIGKILL');
    return;
  }
  process.kill(state.outerPid, 'SIGTERM');
  for (let waited = 0; alive(state.outerPid, state.outerStart) || alive(state.pid, state.pidStart); waited += 20) {
    if (waited === 5000) process.kill(state.outerPid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Discards a stopped sandbox's writable layer and home (`devbox rm`). */
export async function removeSandboxDir(dir: string): Promise<void> {
  const { mapping } = resolveIdMapping();
  await removeAsNamespaceRoot(mapping, [dir]);
}

export interface SandboxSummary {
  dir: string;
  state: LiveSandboxState;
  running: boolean;
}

export function listSandboxes(storeRoot: string): SandboxSummary[] {
  const root = join(storeRoot, 'sandboxes');
  if (!existsSync(root)) return [];
  const summaries: SandboxSummary[] = [];
  for (const key of readdirSync(root)) {
    const dir = join(root, key);
    const state = readSandboxState(dir);
    if (state) summaries.push({ dir, state, running: isLive(state) });
  }
  return summaries.sort((a, b) => a.state.name.localeCompare(b.state.name));
}
