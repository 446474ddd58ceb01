/**
 * Locks shared by devbox processes: proper-lockfile on a file (a mkdir lock whose mtime the holder
 * refreshes; a holder that died leaves a lock that turns stale after 10 s and is taken over). Re-entrant
 * within one async call chain, so an operation under a lock may call another that takes it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { promises as fs } from 'node:fs';
import { DevboxError } from './errors.js';

/** Lock files the current async call chain holds. */
const held = new AsyncLocalStorage<ReadonlySet<string>>();

/** The holder refreshes the lock every STALE_MS / 2; one not refreshed for STALE_MS belonged to a dead command. */
const STALE_MS = 10_000;
/** How long a command waits for another one's lock: unpacking a large image or a build can take minutes. */
const RETRIES = { retries: 3000, factor: 1, minTimeout: 200, maxTimeout: 200 };

/**
 * Runs `fn` holding the lock on `lockPath` (created if missing). `what` names what it guards in messages
 * ("the image store /x"); `onAcquired` runs first under the lock.
 */
export async function withFileLock<T>(lockPath: string, what: string, fn: () => Promise<T>, onAcquired?: () => Promise<void>): Promise<T> {
  const holding = held.getStore();
  if (holding?.has(lockPath)) return fn();
  await (await fs.open(lockPath, 'a')).close();
  const { default: lockfile } = await import('proper-lockfile');
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(lockPath, {
      realpath: false,
      stale: STALE_MS,
      retries: RETRIES,
      onCompromised: (error) => {
        compromised = error;
      },
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    throw new DevboxError(`${what} is locked by another devbox command`, {
      fix: `wait for it to finish; if none is running, remove ${lockPath}.lock`,
      cause: error,
    });
  }
  try {
    await onAcquired?.();
    const result = await held.run(new Set([...(holding ?? []), lockPath]), fn);
    if (compromised) throw new DevboxError(`lost the lock on ${what} while writing (${compromised.message})`, { fix: 'run the command again' });
    return result;
  } finally {
    await release().catch(() => {}); // fails only when the lock was already lost, reported above
  }
}
