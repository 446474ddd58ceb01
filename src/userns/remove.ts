/**
 * Removing trees whose files belong to subordinate ids (unpacked layers, containers): the caller cannot
 * delete them from outside, root of the user namespace can.
 */
import { runNodeInUserNamespace } from './helper.js';
import type { IdMapping } from './idmap.js';

export async function removeAsNamespaceRoot(mapping: IdMapping, paths: readonly string[]): Promise<void> {
  if (!paths.length) return;
  await runNodeInUserNamespace(mapping, new URL('./remove-worker.js', import.meta.url), paths);
}
