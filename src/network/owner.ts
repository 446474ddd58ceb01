/**
 * The store's user namespace owner (docs/networking.md, docs/architecture.md): one user namespace per store,
 * with the user's whole id map, that every rootless container's user namespace is made in (nested, with a map
 * the helper writes itself: no newuidmap and newgidmap, the setuid tools, per start) and that owns every
 * devbox network's namespace, as podman's pause process. A network's holder is root there, so it may move one
 * end of a veth pair into any member's network namespace: a container can be on several networks, and be
 * connected while it runs. The owner's process is the helper's keep-namespace mode (native/keeper.c): it only
 * keeps the namespace joinable, has no network of its own, and goes when owner.json or its store goes.
 *
 *   networks/.owner/            owner.json (its pid, start time and id map), owner.log
 *   networks/.owner.lock        held while the owner starts and while members join networks, and while a
 *                               holder goes, so that none joins a namespace on its way out
 */
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { helperPath, lastHelperMessage } from '../runtime/helper.js';
import { spawnNetworkNamespace } from '../runtime/namespace.js';
import { type IdMapping, nestIdMapping, resolveIdMapping } from '../userns/idmap.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { DevboxError } from '../util/errors.js';
import { firstLine } from '../util/exec.js';
import { withFileLock } from '../util/file-lock.js';
import { isRunning, startTimeOf } from '../util/processes.js';
import { networksDir } from './networks.js';

export interface UsernsOwner {
  /** A process in the user namespace: what holders enter and members are nested in (--userns-of). */
  pid: number;
  start: string;
  /** The namespace's id map: a member's map is said in its ids. */
  idMapping: IdMapping;
}

export function ownerDir(storeRoot: string): string {
  return join(networksDir(storeRoot), '.owner');
}

/** The owner's state file in its directory (native/keeper.c watches it by this name). */
const stateFileIn = (dir: string): string => join(dir, 'owner.json');

/** The owner's state file of the store at `storeRoot`: its pid, start time and id map. */
export function ownerStatePath(storeRoot: string): string {
  return stateFileIn(ownerDir(storeRoot));
}

/** The state file of the owner or a holder, while the process it names still runs. */
export function readLiveState<T extends { pid: number; start: string }>(path: string): T | undefined {
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as T;
    return isRunning(state) ? state : undefined;
  } catch {
    return undefined;
  }
}

function liveOwner(dir: string): UsernsOwner | undefined {
  return readLiveState<UsernsOwner>(stateFileIn(dir));
}

/** Whether `a` and `b` are one owner (one user namespace); `a` absent: a holder of a devbox from before owners. */
export function sameOwner(a: Pick<UsernsOwner, 'pid' | 'start'> | undefined, b: Pick<UsernsOwner, 'pid' | 'start'>): boolean {
  return a !== undefined && a.pid === b.pid && a.start === b.start;
}

async function startOwner(dir: string): Promise<UsernsOwner> {
  // The user's whole map: every member's (a container's, whatever its --userns) nests in it.
  const { mapping } = resolveIdMapping();
  const logPath = join(dir, 'owner.log');
  const log = openSync(logPath, 'w', 0o600);
  let started: Awaited<ReturnType<typeof spawnNetworkNamespace>>;
  try {
    // It outlives the command that starts it: none of that command's environment (tokens) or folder stays with it.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    started = await spawnNetworkNamespace({ mapping }, [helperPath(), 'keep-namespace', dir], { cwd: '/', log, env });
  } finally {
    closeSync(log);
  }
  const failed = () =>
    new DevboxError(`the user namespace devbox makes containers in could not be set up: ${lastHelperMessage(logPath)}`, { fix: 'see "devbox doctor"' });
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
  writeFileAtomicSync(stateFileIn(dir), JSON.stringify(owner), { durable: false, mode: 0o600 });
  return owner;
}

/** Runs `fn` with the owner up (started when none runs), under its lock: no network's holder goes meanwhile. */
export function withUsernsOwner<T>(storeRoot: string, fn: (owner: UsernsOwner) => Promise<T>): Promise<T> {
  const dir = ownerDir(storeRoot);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return withFileLock(dir, "the store's user namespace and networks", async () => fn(liveOwner(dir) ?? (await startOwner(dir))));
}

/**
 * The owner a rootless container's user namespace is made in, started when none runs; undefined when the
 * container's map does not need it (root writes any map itself, and so does a user for the single-id map)
 * or is not inside it. Read without the lock: the owner never goes while its store is there (one killed
 * between this read and the helper's entering it fails that start, saying so).
 */
export async function ownerToNestIn(storeRoot: string, mapping: IdMapping): Promise<UsernsOwner | undefined> {
  if (process.getuid!() === 0 || !mapping.full) return undefined;
  const owner = liveOwner(ownerDir(storeRoot)) ?? (await withUsernsOwner(storeRoot, async (started) => started));
  return nestIdMapping(owner.idMapping, mapping) ? owner : undefined;
}
