/**
 * Where unpacked layers live: layers/<id map fingerprint>/<diffID hex>/ and its record beside it. Kept apart
 * from the unpacker so that `devbox run`, whose layers are usually in place, loads only this.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { idMappingFingerprint, type IdMapping } from '../userns/idmap.js';
import { digestHex } from './blobs.js';

export function layersDir(root: string, mapping: IdMapping): string {
  return join(root, 'layers', idMappingFingerprint(mapping));
}

/** Every id map's layers directory in the store (a container's `--userns` and project sandboxes may each have one). */
export function everyMapLayersDir(root: string): string[] {
  try {
    return readdirSync(join(root, 'layers'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(root, 'layers', entry.name));
  } catch {
    return [];
  }
}

export function layerDir(root: string, mapping: IdMapping, diffID: string): string {
  return join(layersDir(root, mapping), digestHex(diffID));
}

/** The layer's record (storage/layer-format.ts LayerRecord), written last: its presence marks the layer complete. */
export function layerRecordPath(dir: string): string {
  return `${dir}.json`;
}

export function isLayerUnpacked(root: string, mapping: IdMapping, diffID: string): boolean {
  return existsSync(layerRecordPath(layerDir(root, mapping, diffID)));
}

/**
 * The uncompressed size of a layer (its record's), from whichever id map it was unpacked for: the tar is
 * the same for every map. Undefined for a layer never unpacked.
 */
export function layerSizeReader(root: string): (diffID: string) => number | undefined {
  let maps: string[] | undefined;
  return (diffID) => {
    maps ??= everyMapLayersDir(root);
    for (const map of maps) {
      try {
        const record = JSON.parse(readFileSync(join(map, `${digestHex(diffID)}.json`), 'utf8')) as { size?: unknown };
        if (typeof record.size === 'number') return record.size;
      } catch {
        // not unpacked for this map
      }
    }
    return undefined;
  };
}
