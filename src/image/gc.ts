/**
 * Garbage collection, under the store lock: blobs and unpacked layers (of the current id map) that no image
 * and no build cache entry references any more, and what interrupted commands left behind. An image removed
 * with --force while a container still runs from it keeps its config and unpacked layers until that container
 * has ended.
 * Unpacked layers belong to subordinate ids, so they are removed inside the user namespace; layers unpacked
 * under another id map are left alone (this mapping's root cannot delete them).
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IdMapping } from '../userns/idmap.js';
import { removeAsNamespaceRoot } from '../userns/remove.js';
import { blobDir, blobPath, digestHex } from './blobs.js';
import { listBuildCacheEntries } from './build-cache-store.js';
import { imagesInUse } from './in-use.js';
import type { ImageConfig, ImageManifest } from './oci.js';
import type { ImageStore } from './store.js';
import { layersDir } from './layer-paths.js';
import { removeStaleLayers } from './unpack.js';

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export async function collectGarbage(store: ImageStore, mapping: IdMapping): Promise<void> {
  await store.withLock(async () => {
    await removeStaleLayers(store.root, mapping);
    const blobs = new Set<string>();
    const diffIDs = new Set<string>();
    const index = store.readIndex();
    for (const [id, record] of Object.entries(index.images)) {
      blobs.add(digestHex(id)).add(digestHex(record.manifest));
      try {
        const manifest = readJson<ImageManifest>(blobPath(store.root, record.manifest));
        for (const layer of manifest.layers) blobs.add(digestHex(layer.digest));
        const config = readJson<ImageConfig>(blobPath(store.root, id));
        for (const d of config.rootfs.diff_ids) diffIDs.add(digestHex(d));
      } catch {
        return; // a damaged image: nothing it might need is collected on a guess
      }
    }
    for (const entry of listBuildCacheEntries(store.root)) {
      for (const layer of entry.layers) blobs.add(digestHex(layer.digest));
      for (const d of entry.config.rootfs.diff_ids) diffIDs.add(digestHex(d));
    }
    for (const id of imagesInUse(store.root)) {
      if (index.images[id]) continue;
      try {
        const config = readJson<ImageConfig>(blobPath(store.root, id));
        blobs.add(digestHex(id));
        for (const d of config.rootfs.diff_ids) diffIDs.add(digestHex(d));
      } catch {
        // its config is gone already: nothing left to keep
      }
    }
    if (existsSync(blobDir(store.root))) {
      for (const name of await fs.readdir(blobDir(store.root))) {
        if (/^[a-f0-9]{64}$/.test(name) && !blobs.has(name)) await fs.rm(join(blobDir(store.root), name), { force: true });
      }
    }
    const layers = layersDir(store.root, mapping);
    if (!existsSync(layers)) return;
    const unused = (await fs.readdir(layers)).filter((name) => /^[a-f0-9]{64}(\.json)?$/.test(name) && !diffIDs.has(name.slice(0, 64)));
    // Records first: a layer without its record counts as absent, so a crash midway leaves nothing half-valid.
    for (const name of unused.filter((n) => n.endsWith('.json'))) await fs.rm(join(layers, name), { force: true });
    await removeAsNamespaceRoot(
      mapping,
      unused.filter((n) => !n.endsWith('.json')).map((n) => join(layers, n)),
    );
  });
}
