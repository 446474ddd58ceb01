/**
 * The copy backend: a private copy of the layers, made inside the user namespace to keep ownership. Also what
 * fills a new volume: the merged view of one directory of the layers.
 */
import { runNodeInUserNamespace } from '../runtime/namespace.js';
import type { IdMapping } from '../userns/idmap.js';

/**
 * DEST becomes the layers (bottom first) merged as overlayfs shows them; with `subpath` (relative, without
 * symlinks in it: the caller resolved them), only that directory of them.
 */
export async function copyLayers(mapping: IdMapping, lowerDirs: readonly string[], dest: string, subpath = ''): Promise<void> {
  await runNodeInUserNamespace(mapping, new URL('./copy-worker.js', import.meta.url), [dest, subpath, ...lowerDirs]);
}
