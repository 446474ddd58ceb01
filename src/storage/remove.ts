/**
 * Removing trees whose files belong to subordinate ids (unpacked layers, container directories): the caller
 * cannot delete them from outside, root of the user namespace (with the same id map) can.
 */
import { isAbsolute } from 'node:path';
import { runNodeInUserNamespace } from '../runtime/namespace.js';
import type { IdMapping } from '../userns/idmap.js';
import { inArgBatches } from '../util/arg-batches.js';
import { DevboxError } from '../util/errors.js';

/** Removes each path (recursively; a missing one is fine). Symlinks inside are removed, never followed. */
export async function removeAsNamespaceRoot(mapping: IdMapping, paths: readonly string[]): Promise<void> {
  const bad = paths.find((p) => !isAbsolute(p) || p === '/');
  if (bad !== undefined) throw new Error(`removeAsNamespaceRoot: refusing to remove "${bad}"`);
  await inArgBatches(
    paths.map((p) => [p]),
    async (batch) => {
      const result = await runNodeInUserNamespace(mapping, new URL('./remove-worker.js', import.meta.url), batch, { allowFailure: true });
      if (result.exitCode !== 0) {
        const reason = result.stderr.trim().split('\n').pop() || `exit status ${result.exitCode}`;
        throw new DevboxError(`cannot remove store files as root of the user namespace: ${reason}`);
      }
    },
  );
}
