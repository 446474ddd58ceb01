/**
 * `devbox image prune`: removes dangling images (no name), or with `all` every image no container in the
 * store was created from, as `docker image prune [-a]` does; then collects every blob and unpacked layer
 * nothing references, including what interrupted pulls and loads left. The caller reads which images the
 * store's containers and sandboxes were created from (`used`) and which of them run now (`running`).
 */
import { resolveIdMapping } from '../userns/idmap.js';
import { collectGarbage } from './gc.js';
import type { ImageStore } from './store.js';
import { storeSize } from './usage.js';

export interface PruneResult {
  /** Image ids removed. */
  deleted: string[];
  /** Names those images had. */
  untagged: string[];
  /** Bytes freed. */
  reclaimed: number;
}

/** Images the store's containers and sandboxes were created from (`used`), and those that run now. */
export interface ImagesInUse {
  used: ReadonlySet<string>;
  running: ReadonlySet<string>;
}

export async function pruneImages(store: ImageStore, options: { all: boolean }, inUse: ImagesInUse): Promise<PruneResult> {
  const { mapping } = resolveIdMapping();
  return store.withLock(async () => {
    const before = storeSize(store.root);
    const index = store.readIndex();
    const result: PruneResult = { deleted: [], untagged: [], reclaimed: 0 };
    for (const [id, record] of Object.entries(index.images)) {
      if (inUse.used.has(id) || (record.names.length && !options.all)) continue;
      result.untagged.push(...record.names);
      result.deleted.push(id);
      delete index.images[id];
    }
    if (result.deleted.length) await store.writeIndex(index);
    await collectGarbage(store, mapping, inUse.running);
    result.reclaimed = before - storeSize(store.root);
    return result;
  });
}
