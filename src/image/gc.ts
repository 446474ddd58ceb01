/**
 * Garbage collection: blobs and unpacked layers (of the current id map) that no image references any more.
 * Runs under the store lock. Unpacked layers belong to subordinate ids, so they are removed inside the
 * user namespace; layers unpacked under another id map are left alone (this user cannot delete them now).
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IdMapping } from '../userns/idmap.js';
import { removeAsNamespaceRoot } from '../userns/remove.js';
import { blobPath, digestHex } from './blobs.js';
import type { ImageConfig, ImageManifest } from './oci.js';
import type { ImageStore } from './store.js';
import { layersDir } from './unpack.js';

export async function collectGarbage(store: ImageStore, mapping: IdMapping): Promise<void> {
  const blobs = new Set<string>();
  const diffIDs = new Set<string>();
  for (const [id, record] of Object.entries(store.readIndex().images)) {
    blobs.add(digestHex(id)).add(digestHex(record.manifest));
    try {
      const manifest = JSON.parse(readFileSync(blobPath(store.root, record.manifest), 'utf8')) as ImageManifest;
      for (const layer of manifest.layers) blobs.add(digestHex(layer.digest));
      const config = JSON.parse(readFileSync(blobPath(store.root, id), 'utf8')) as ImageConfig;
      for (const d of config.rootfs.diff_ids) diffIDs.add(digestHex(d));
    } catch {
      // a damaged image keeps what can be read of it; nothing it might need is collected on a guess
      return;
    }
  }
  const blobDir = join(store.root, 'blobs', 'sha256');
  if (existsSync(blobDir)) {
    for (const name of await fs.readdir(blobDir)) if (!blobs.has(name)) await fs.rm(join(blobDir, name), { force: true });
  }
  const layers = layersDir(store.root, mapping);
  if (!existsSync(layers)) return;
  const unused: string[] = [];
  for (const name of await fs.readdir(layers)) {
    const hex = name.replace(/\.json$/, '');
    if (!diffIDs.has(hex)) unused.push(join(layers, name));
  }
  // Records first: a layer without its record counts as absent, so a crash midway leaves nothing half-valid.
  for (const path of unused.filter((p) => p.endsWith('.json'))) await fs.rm(path, { force: true });
  await removeAsNamespaceRoot(mapping, unused.filter((p) => !p.endsWith('.json')));
}
