/**
 * The devbox networks' owner (docs/networking.md): one user namespace per store that owns every network's
 * namespace and every networked container's and project sandbox's user namespace, as podman's pause process
 * does. A network's holder is root there, so it may move one end of a veth pair into any member's network
 * namespace: a container can be on several networks, and be connected while it runs. The owner's process
 * (owner-main.ts) keeps the namespace joinable for as long as it has members, and nothing else: it has no
 * network of its own.
 *
 *   networks/.owner/            owner.json (its pid, start time and id map), owner.log, members/PID-START
 *   networks/.owner.lock        held while members join networks, and while a holder or the owner goes, so
 *                               that none joins a namespace on its way out
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { lastHelperMessage } from '../runtime/helper.js';
import { spawnNetworkNamespace } from '../runtime/namespace.js';
import { type IdMapping, resolveIdMapping } from '../userns/idmap.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { DevboxError } from '../util/errors.js';
import { firstLine } from '../util/exec.js';
import { withFileLock } from '../util/file-lock.js';
import { startTimeOf } from '../util/processes.js';
import { networksDir } from './networks.js';

/** What the owner is told when it starts (its only argument, as JSON). */
export interface OwnerConfig {
  lock: string;
  stateFile: string;
  members: string;
}

export interface NetworksOwner {
  /** A process in the user namespace: what holders enter and members are nested in (--userns-of). */
  pid: number;
  start: string;
  /** The namespace's id map: a member's map is said in its ids. */
  idMapping: IdMapping;
}

export function ownerDir(storeRoot: string): string {
  return join(networksDir(storeRoot), '.owner');
}

/** The state file of the owner or a holder, while the process it names still runs. */
export function readLiveState<T extends { pid: number; start: string }>(path: string): T | undefined {
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as T;
    return startTimeOf(state.pid) === state.start ? state : undefined;
  } catch {
    return undefined;
  }
}

function liveOwner(dir: string): NetworksOwner | undefined {
  return readLiveState<NetworksOwner>(join(dir, 'owner.json'));
}

/** Whether `a` and `b` are one owner (one user namespace); `a` absent: a holder of a devbox from before owners. */
export function sameOwner(a: Pick<NetworksOwner, 'pid' | 'start'> | undefined, b: Pick<NetworksOwner, 'pid' | 'start'>): boolean {
  return a !== undefined && a.pid === b.pid && a.start === b.start;
}

async function startOwner(dir: string): Promise<NetworksOwner> {
  // The user's whole map: every member's (a container's, whatever its --userns) nests in it.
  const { mapping } = resolveIdMapping();
  const config: OwnerConfig = { lock: dir, stateFile: join(dir, 'owner.json'), members: join(dir, 'members') };
  mkdirSync(config.members, { recursive: true, mode: 0o700 });
  const logPath = join(dir, 'owner.log');
  const log = openSync(logPath, 'w', 0o600);
  const script = fileURLToPath(new URL('./owner-main.js', import.meta.url));
  let started: Awaited<ReturnType<typeof spawnNetworkNamespace>>;
  try {
    started = await spawnNetworkNamespace({ mapping }, [process.execPath, script, JSON.stringify(config)], { cwd: dir, log });
  } finally {
    closeSync(log);
  }
  const failed = () => new DevboxError(`the devbox networks' namespace could not be set up: ${lastHelperMessage(logPath)}`, { fix: 'see "devbox doctor"' });
  if (!started) throw failed();
  try {
    started.lifetime.destroy();
    const ready = firstLine(started.stdout);
    await started.go();
    if ((await ready) !== 'ready') throw failed();
  } catch (error) {
    started.helper.kill('SIGKILL');
    throw error;
  }
  (started.stdout as Readable).destroy();
  started.helper.unref();
  const owner = { pid: started.pid, start: startTimeOf(started.pid) ?? '', idMapping: mapping };
  writeFileAtomicSync(config.stateFile, JSON.stringify(owner), { durable: false, mode: 0o600 });
  return owner;
}

/**
 * Runs `fn` with the owner up (started when none runs), under its lock: nothing leaves its namespace
 * meanwhile. An owner started for `fn` that failed before it added a member is ended at once.
 */
export function withNetworksOwner<T>(storeRoot: string, fn: (owner: NetworksOwner) => Promise<T>): Promise<T> {
  const dir = ownerDir(storeRoot);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return withFileLock(dir, 'the devbox networks', async () => {
    const running = liveOwner(dir);
    const owner = running ?? (await startOwner(dir));
    try {
      return await fn(owner);
    } catch (error) {
      if (!running && !readdirSync(join(dir, 'members')).length) {
        process.kill(owner.pid, 'SIGKILL');
        rmSync(join(dir, 'owner.json'), { force: true });
      }
      throw error;
    }
  });
}

/** The owner keeps its namespace for as long as the process `pid` runs (a holder, a container's pid 1). */
export function addOwnerMember(storeRoot: string, pid: number): void {
  const start = startTimeOf(pid);
  if (start !== undefined) writeFileSync(join(ownerDir(storeRoot), 'members', `${pid}-${start}`), '', { mode: 0o600 });
}
