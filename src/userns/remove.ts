/**
 * Removing trees whose files belong to subordinate ids (unpacked layers, container directories): the caller
 * cannot delete them from outside, root of the user namespace (with the same id map) can.
 */
import { isAbsolute } from 'node:path';
import { DevboxError } from '../util/errors.js';
import { runNodeInUserNamespace } from './helper.js';
import type { IdMapping } from './idmap.js';

/** Keeps each worker command line well below the kernel's argument size limit. */
const ARG_BYTES = 128 * 1024;

/** Removes each path (recursively; a missing one is fine). Symlinks inside are removed, never followed. */
export async function removeAsNamespaceRoot(mapping: IdMapping, paths: readonly string[]): Promise<void> {
  const bad = paths.find((p) => !isAbsolute(p) || p === '/');
  if (bad !== undefined) throw new Error(`removeAsNamespaceRoot: refusing to remove "${bad}"`);
  let batch: string[] = [];
  let bytes = 0;
  const flush = async () => {
    if (!batch.length) return;
    const result = await runNodeInUserNamespace(mapping, new URL('./remove-worker.js', import.meta.url), batch, { allowFailure: true });
    if (result.exitCode !== 0) {
      const reason = result.stderr.trim().split('\n').pop() || `exit status ${result.exitCode}`;
      throw new DevboxError(`cannot remove store files as root of the user namespace: ${reason}`);
    }
    batch = [];
    bytes = 0;
  };
  for (const path of paths) {
    const size = Buffer.byteLength(path) + 1;
    if (bytes + size > ARG_BYTES) await flush();
    batch.push(path);
    bytes += size;
  }
  await flush();
}
