/**
 * Disk use of the image store, for `devbox system df` and `devbox image prune`: blobs as stored, plus each
 * layer as unpacked for every id map (the uncompressed size its record gives, once per map). "Active" images are those
 * a container kept in the store was created from (`used`, read by the caller); what only inactive images (or
 * nothing) use is reclaimable.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LayerRecord } from '../storage/layer-format.js';
import { blobDir } from './blobs.js';
import { addReferences, type References } from './gc.js';
import { everyMapLayersDir } from './layer-paths.js';
import type { ImageStore } from './store.js';

export interface ImagesUsage {
  total: number;
  active: number;
  /** Bytes of every blob and unpacked layer in the store. */
  size: number;
  /** Bytes no active image uses. */
  reclaimable: number;
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Bytes on disk per blob (by hex digest) and per unpacked layer of every map (hex diffID and bytes). */
function storedBytes(root: string): { blobs: Map<string, number>; layers: [string, number][] } {
  const blobs = new Map<string, number>();
  for (const name of list(blobDir(root))) {
    const size = statSync(join(blobDir(root), name), { throwIfNoEntry: false })?.size;
    if (/^[a-f0-9]{64}$/.test(name) && size !== undefined) blobs.set(name, size);
  }
  const layers: [string, number][] = [];
  for (const dir of everyMapLayersDir(root)) {
    for (const name of list(dir).filter((n) => /^[a-f0-9]{64}\.json$/.test(n))) {
      try {
        layers.push([name.slice(0, 64), (JSON.parse(readFileSync(join(dir, name), 'utf8')) as LayerRecord).size]);
      } catch {
        // being written or damaged: not counted
      }
    }
  }
  return { blobs, layers };
}

/** Total bytes of the store's blobs and unpacked layers. */
export function storeSize(root: string): number {
  const { blobs, layers } = storedBytes(root);
  return [...blobs.values(), ...layers.map(([, bytes]) => bytes)].reduce((a, b) => a + b, 0);
}

export function imagesUsage(store: ImageStore, used: ReadonlySet<string>): ImagesUsage {
  const index = store.readIndex();
  const active = Object.keys(index.images).filter((id) => used.has(id));
  const refs: References = { blobs: new Set(), diffIDs: new Set() };
  for (const id of active) addReferences(store.root, id, index.images[id].manifest, refs);
  const { blobs, layers } = storedBytes(store.root);
  let size = 0;
  let kept = 0;
  for (const [hex, bytes] of blobs) {
    size += bytes;
    if (refs.blobs.has(hex)) kept += bytes;
  }
  for (const [hex, bytes] of layers) {
    size += bytes;
    if (refs.diffIDs.has(hex)) kept += bytes;
  }
  return { total: Object.keys(index.images).length, active: active.length, size, reclaimable: size - kept };
}
