/**
 * The store is its user's alone, as containers/storage keeps its root 0700: its layers hold setuid files
 * owned by the user or their subordinate root, its containers and sandboxes writable layers and sockets, its
 * volumes the user's data.
 * A store other local users could enter would let them run those files as the user (issue 11). The root is
 * made 0700 whatever the umask and whatever the mode of the folder it is in; a store an earlier devbox left
 * open is tightened the first time it is used, which costs one stat on every later use (no walk of the layers:
 * a closed root keeps everything below out of reach).
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DevboxError } from '../util/errors.js';

const PRIVATE = 0o700;
/** The folders below the root that hold what other users must not reach, tightened with it. */
const SUBFOLDERS = ['layers', 'containers', 'sandboxes', 'volumes'];

function tighten(path: string): void {
  try {
    chmodSync(path, PRIVATE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new DevboxError(`cannot make the image store private: chmod ${path}: ${(error as NodeJS.ErrnoException).code}`, {
      fix: 'the store must belong to you: devbox config set storageRoot DIR moves it',
      cause: error,
    });
  }
}

/** Creates the store's root, or tightens an existing one that other users could enter. */
export function ensurePrivateStoreRoot(root: string): void {
  const stats = statSync(root, { throwIfNoEntry: false });
  if (stats && (stats.mode & 0o777) === PRIVATE) return;
  if (!stats) mkdirSync(root, { recursive: true, mode: PRIVATE });
  tighten(root);
  for (const sub of SUBFOLDERS) tighten(join(root, sub));
}
