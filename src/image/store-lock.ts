/**
 * The store lock: one writer at a time across devbox processes (proper-lockfile on <root>/lock, a mkdir lock
 * whose mtime the holder refreshes; a holder that died leaves a lock that turns stale after 10 s and is
 * taken over). Re-entrant within one async call chain, so a store operation may call another. Loaded only
 * when something is written: `devbox run` with its layers in place never needs it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { DevboxError } from '../util/errors.js';
import { removeStaleTemps, tempDir } from './durable.js';

/** Store roots whose lock the current async call chain holds. */
const held = new AsyncLocalStorage<ReadonlySet<string>>();

/** The holder refreshes the lock every STALE_MS / 2; one not refreshed for STALE_MS belonged to a dead command. */
const STALE_MS = 10_000;
/** How long a command waits for another one's lock: unpacking a large image can take minutes. */
const RETRIES = { retries: 3000, factor: 1, minTimeout: 200, maxTimeout: 200 };

export async function withStoreLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  const holding = held.getStore();
  if (holding?.has(root)) return fn();
  await fs.mkdir(tempDir(root), { recursive: true });
  const lockPath = join(root, 'lock');
  await (await fs.open(lockPath, 'a')).close(); // the file proper-lockfile locks; created if missing
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
    throw new DevboxError(`the image store ${root} is locked by another devbox command`, {
      fix: `wait for it to finish; if none is running, remove ${lockPath}.lock`,
      cause: error,
    });
  }
  try {
    await removeStaleTemps(root);
    const result = await held.run(new Set([...(holding ?? []), root]), fn);
    if (compromised) {
      throw new DevboxError(`lost the lock on the image store ${root} while writing (${compromised.message})`, { fix: 'run the command again' });
    }
    return result;
  } finally {
    await release().catch(() => {}); // fails only when the lock was already lost, reported above
  }
}
