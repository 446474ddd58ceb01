/**
 * Locks shared by devbox processes. A lock on FILE is the symlink FILE.lock, made with symlink(2) (atomic:
 * exactly one maker succeeds), whose target names its holder: host, boot, pid and the pid's start time. A
 * holder that died (kill -9, a crash, an earlier boot) is seen as dead at once and its lock taken over,
 * instead of after a staleness timeout: proper-lockfile, which devbox used before, can only tell a dead
 * holder by a lock not refreshed for 10 s, and every command after a killed one waited that long (issue 11's
 * crash suite). Re-entrant within one async call chain, so an operation under a lock may call another that
 * takes it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { promises as fs, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { DevboxError } from './errors.js';
import { startTimeOf } from './processes.js';

/** Lock files the current async call chain holds. */
const held = new AsyncLocalStorage<ReadonlySet<string>>();

/** How long a command waits for another one's lock: unpacking a large image or a build can take minutes. */
const WAIT_MS = 10 * 60_000;
const POLL_MS = 100;
/** A takeover is a few file system calls: a takeover mark older than this was left by a command that died. */
const TAKEOVER_STALE_MS = 5_000;
/** An older devbox's lock (a directory) that its holder has not refreshed for this long is stale (proper-lockfile's rule). */
const DIRECTORY_LOCK_STALE_MS = 10_000;

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** This process as a lock's holder: `host boot pid start`. */
function me(): string {
  return [hostname(), bootId(), process.pid, startTimeOf(process.pid) ?? ''].join(' ');
}

/** Whether the holder a lock names is certainly gone: on this machine, and no longer running (or from an earlier boot). */
async function holderIsGone(lockFile: string, holder: string): Promise<boolean> {
  if (holder === '') {
    const stats = await fs.stat(lockFile).catch(() => undefined);
    return stats !== undefined && Date.now() - stats.mtimeMs > DIRECTORY_LOCK_STALE_MS;
  }
  const [host, boot, pid, start] = holder.split(' ');
  if (host !== hostname() || !pid) return false; // another machine sharing the folder: only it knows
  return boot !== bootId() || startTimeOf(Number(pid)) !== start;
}

async function readHolder(lockFile: string): Promise<string | undefined> {
  try {
    return await fs.readlink(lockFile);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EINVAL') return ''; // not a symlink: a directory lock of an older devbox, whose holder is unknown
    throw error;
  }
}

/**
 * Removes the lock if `holder` still holds it and is gone. Takeovers go one at a time (the FILE.lock.takeover
 * directory): each one checks the holder again under it, so a lock that a live command took meanwhile is
 * never removed, by it or by a second command that had seen the same dead holder.
 */
async function takeOver(lockFile: string, holder: string): Promise<void> {
  const mark = `${lockFile}.takeover`;
  try {
    await fs.mkdir(mark);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const stats = await fs.stat(mark).catch(() => undefined);
    if (stats && Date.now() - stats.mtimeMs > TAKEOVER_STALE_MS) await fs.rmdir(mark).catch(() => {});
    return;
  }
  try {
    if ((await readHolder(lockFile)) === holder) await (holder === '' ? fs.rmdir(lockFile) : fs.unlink(lockFile));
  } finally {
    await fs.rmdir(mark);
  }
}

/** Waits for the lock and takes it; returns what releases it. */
async function acquire(lockPath: string, what: string): Promise<() => Promise<void>> {
  const lockFile = `${lockPath}.lock`;
  const self = me();
  for (const deadline = Date.now() + WAIT_MS; ; ) {
    try {
      await fs.symlink(self, lockFile);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readHolder(lockFile);
    if (holder === undefined) continue; // released meanwhile
    if (await holderIsGone(lockFile, holder)) {
      await takeOver(lockFile, holder);
      continue;
    }
    if (Date.now() > deadline) {
      throw new DevboxError(`${what} is locked by another devbox command`, { fix: `wait for it to finish; if none is running, remove ${lockFile}` });
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return async () => {
    // Ours unless we were taken for dead, which a live process never is.
    if ((await readHolder(lockFile)) === self) await fs.unlink(lockFile);
  };
}

/**
 * Runs `fn` holding the lock on `lockPath`. `what` names what it guards in messages ("the image store /x");
 * `onAcquired` runs first under the lock.
 */
export async function withFileLock<T>(lockPath: string, what: string, fn: () => Promise<T>, onAcquired?: () => Promise<void>): Promise<T> {
  const holding = held.getStore();
  if (holding?.has(lockPath)) return fn();
  const release = await acquire(lockPath, what);
  try {
    await onAcquired?.();
    return await held.run(new Set([...(holding ?? []), lockPath]), fn);
  } finally {
    await release();
  }
}
