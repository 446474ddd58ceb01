/**
 * Removing trees whose files belong to subordinate ids (unpacked layers, container directories): the caller
 * cannot delete them from outside, root of the user namespace (with the same id map) can. The helper does it
 * itself (`fsops remove`, fd-relative, never following a symlink): no Node.js process to start inside.
 */
import { chmodSync, lstatSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { removeTreesInUserNamespace } from '../runtime/fsops.js';
import type { IdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';

function checkPaths(paths: readonly string[]): void {
  const bad = paths.find((p) => !isAbsolute(p) || resolve(p) === '/');
  if (bad !== undefined) throw new Error(`removeAsNamespaceRoot: refusing to remove "${bad}"`);
}

/** Removes each path (recursively; a missing one is fine). Symlinks inside are removed, never followed. */
export async function removeAsNamespaceRoot(mapping: IdMapping, paths: readonly string[]): Promise<void> {
  checkPaths(paths);
  const failure = await removeTreesInUserNamespace(
    mapping,
    paths.map((p) => resolve(p)),
  );
  if (failure !== undefined) throw new DevboxError(`cannot remove store files as root of the user namespace: ${failure}`);
}

/**
 * Removes each path as removeAsNamespaceRoot does, but deletes directly what the caller may (its own
 * directories and what they hold; everything, as root) and starts the helper only for what is left: a
 * directory of another id, with whatever is below it. A container's records are the caller's; its writable
 * layer is container root's, which is the caller with `--userns=host` and as root.
 *
 * Only for trees nothing else writes in while they go (a container whose processes have all ended, in the
 * caller's own 0700 store): the walk goes by path, lstat before it descends, so a symlink is never followed,
 * but an entry swapped for one meanwhile would be. What is left goes through the helper's fd-relative removal.
 */
export async function removeDirectlyFirst(mapping: IdMapping, paths: readonly string[]): Promise<void> {
  checkPaths(paths);
  const uid = process.getuid?.() ?? -1;
  const left = paths.filter((p) => !removeOwnTree(resolve(p), uid));
  if (left.length) await removeAsNamespaceRoot(mapping, left);
}

/** Whether path is gone after removing what the caller may: every entry of its directories and theirs, not entering one of another id. */
function removeOwnTree(path: string, uid: number): boolean {
  try {
    const stat = lstatSync(path);
    if (!stat.isDirectory()) {
      unlinkSync(path);
      return true;
    }
    if (uid !== 0 && stat.uid !== uid) return false;
    // overlayfs's work/work is made mode 0; the owner may open it up to empty it.
    if ((stat.mode & 0o700) !== 0o700) chmodSync(path, 0o700);
    let gone = true;
    for (const name of readdirSync(path)) gone = removeOwnTree(join(path, name), uid) && gone;
    if (gone) rmdirSync(path);
    return gone;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
