/** The copy backend: a private copy of the layers, made inside the user namespace to keep ownership. */
import { runNodeInUserNamespace } from '../runtime/namespace.js';
import type { IdMapping } from '../userns/idmap.js';

export async function copyLayers(mapping: IdMapping, lowerDirs: readonly string[], dest: string): Promise<void> {
  await runNodeInUserNamespace(mapping, new URL('./copy-worker.js', import.meta.url), [dest, ...lowerDirs]);
}
