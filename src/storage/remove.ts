/**
 * Removing trees whose files belong to subordinate ids (unpacked layers, container directories): the caller
 * cannot delete them from outside, root of the user namespace (with the same id map) can. The helper does it
 * itself (`fsops remove`, fd-relative, never following a symlink): no Node.js process to start inside.
 */
import { isAbsolute, resolve } from 'node:path';
import { removeTreesInUserNamespace } from '../runtime/fsops.js';
import type { IdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';

/** Removes each path (recursively; a missing one is fine). Symlinks inside are removed, never followed. */
export async function removeAsNamespaceRoot(mapping: IdMapping, paths: readonly string[]): Promise<void> {
  const bad = paths.find((p) => !isAbsolute(p) || resolve(p) === '/');
  if (bad !== undefined) throw new Error(`removeAsNamespaceRoot: refusing to remove "${bad}"`);
  const failure = await removeTreesInUserNamespace(
    mapping,
    paths.map((p) => resolve(p)),
  );
  if (failure !== undefined) throw new DevboxError(`cannot remove store files as root of the user namespace: ${failure}`);
}
