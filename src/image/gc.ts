/**
 * Garbage collection, under the store lock: blobs and unpacked layers (of the current id map) that no image
 * and no build cache entry references any more, and what interrupted commands left behind. An image removed
 * with --force while a container still ran from it (images.json's `retained`) keeps its config and unpacked
 * layers until a collection is told which images are in use and it is not among them.
 * Unpacked layers belong to subordinate ids, so they are removed inside the user namespace; layers unpacked
 * under another id map are left alone (this mapping's root cannot delete them).
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IdMapping } from '../userns/idmap.js';
import { removeAsNamespaceRoot } from '../storage/remove.js';
import { blobDir, blobPath, digestHex } from './blobs.js';
import { listBuildCacheEntries } from './build-cache-store.js';
import type { ImageConfig, ImageManifest } from './oci.js';
import type { ImageStore } from './store.js';
import { everyMapLayersDir } from './layer-paths.js';
import { removeStaleLayers } from './unpack.js';

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Blob and layer digests (hex) that images reference. */
export interface References {
  blobs: Set<string>;
  diffIDs: Set<string>;
}

/**
 * Adds what image `id` references to `refs`: its config, its manifest (when known) with the layer blobs, the
 * layers' diffIDs. Returns false when the image is damaged (a blob unreadable), having added what it could.
 */
export function addReferences(root: string, id: string, manifestDigest: string | undefined, refs: References): boolean {
  try {
    refs.blobs.add(digestHex(id));
    if (manifestDigest) {
      refs.blobs.add(digestHex(manifestDigest));
      for (const layer of readJson<ImageManifest>(blobPath(root, manifestDigest)).layers) refs.blobs.add(digestHex(layer.digest));
    }
    for (const d of readJson<ImageConfig>(blobPath(root, id)).rootfs.diff_ids) refs.diffIDs.add(digestHex(d));
    return true;
  } catch {
    return false;
  }
}

/**
 * `running`: the ids of images containers and sandboxes run from now (the caller reads them, above the store);
 * without it, images removed while in use are all kept.
 */
export async function collectGarbage(store: ImageStore, mapping: IdMapping, running?: ReadonlySet<string>): Promise<void> {
  await store.withLock(async () => {
    await removeStaleLayers(store.root, mapping);
    const refs: References = { blobs: new Set(), diffIDs: new Set() };
    const index = store.readIndex();
    if (running && index.retained?.length) {
      const retained = index.retained.filter((id) => running.has(id));
      if (retained.length !== index.retained.length) await store.writeIndex({ ...index, retained });
      index.retained = retained;
    }
    for (const [id, record] of Object.entries(index.images)) {
      if (!addReferences(store.root, id, record.manifest, refs)) return; // a damaged image: nothing it might need is collected on a guess
    }
    // Build cache entries keep their layers, so a rebuild finds them.
    for (const entry of listBuildCacheEntries(store.root)) {
      for (const layer of entry.layers) refs.blobs.add(digestHex(layer.digest));
      for (const d of entry.config.rootfs.diff_ids) refs.diffIDs.add(digestHex(d));
    }
    // An image removed while a container ran from it keeps what the container needs.
    for (const id of index.retained ?? []) addReferences(store.root, id, undefined, refs);
    const { blobs, diffIDs } = refs;
    if (existsSync(blobDir(store.root))) {
      for (const name of await fs.readdir(blobDir(store.root))) {
        if (/^[a-f0-9]{64}$/.test(name) && !blobs.has(name)) await fs.rm(join(blobDir(store.root), name), { force: true });
      }
    }
    // Every map's copy: they hold the same host ids (the caller's and its subordinate ones), which `mapping` covers.
    const unused: string[] = [];
    for (const layers of everyMapLayersDir(store.root)) {
      for (const name of await fs.readdir(layers)) {
        if (/^[a-f0-9]{64}(\.json)?$/.test(name) && !diffIDs.has(name.slice(0, 64))) unused.push(join(layers, name));
      }
    }
    // Records first: a layer without its record counts as absent, so a crash midway leaves nothing half-valid.
    for (const path of unused.filter((p) => p.endsWith('.json'))) await fs.rm(path, { force: true });
    await removeAsNamespaceRoot(
      mapping,
      unused.filter((p) => !p.endsWith('.json')),
    );
  });
}
