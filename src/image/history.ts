/**
 * `devbox image history`: the image config's history, newest first, each entry that made a layer paired
 * with that layer (entries marked empty_layer made none), as `docker history` shows it. An image without
 * history (some tools write none) shows one row per layer.
 */
import type { HistoryEntry } from './oci.js';
import type { StoredImage } from './store.js';

export interface HistoryRow {
  /** The image id on the newest row; the others are intermediate images devbox does not have. */
  id?: string;
  created?: string;
  createdBy: string;
  /** Bytes of the layer blob this step made; 0 for a step without a layer. */
  size: number;
  comment: string;
}

export function imageHistory(image: StoredImage): HistoryRow[] {
  const layers = image.manifest.layers;
  const entries: HistoryEntry[] = image.config.history?.length ? image.config.history : layers.map(() => ({}));
  let layer = 0;
  const rows = entries.map((entry): HistoryRow => {
    const size = entry.empty_layer ? 0 : (layers[layer++]?.size ?? 0);
    return { created: entry.created, createdBy: entry.created_by ?? '', size, comment: entry.comment ?? '' };
  });
  rows.reverse();
  if (rows.length) rows[0].id = image.id;
  return rows;
}
