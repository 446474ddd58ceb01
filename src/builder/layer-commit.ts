/**
 * A step's changes → a layer in the store. The layer worker (as root of the user namespace) writes the
 * changes as a tar into the step's workspace and hashes it; then, under the store lock, the tar becomes a
 * blob (stored uncompressed, so its digest is also its diffID, as podman keeps local layers), the layer is
 * put in place, and the step's cache entry is written: gc never sees a blob that nothing names. A RUN's
 * upper directory that the worker found in the store's layer format (kernel overlay: whiteouts as 0/0
 * devices, user.overlay.opaque) becomes the unpacked layer by a rename; anything else is unpacked from the
 * tar like a pulled layer.
 */
import { adoptSpooled } from '../image/blobs.js';
import { writeBuildCacheEntry, type BuildCacheEntry } from '../image/build-cache-store.js';
import { MediaType, type Descriptor } from '../image/oci.js';
import type { ImageStore } from '../image/store.js';
import { putLayerInPlace, unpackLayer } from '../image/unpack.js';
import { runNodeInUserNamespace } from '../runtime/namespace.js';
import type { IdMapping } from '../userns/idmap.js';
import type { LayerTarResult } from './layer-tar.js';
import type { LayerWorkerRequest } from './layer-worker.js';
import { StepError } from './step-error.js';

/** The worker's answer: a layer tar's result (diff, stage), the changes (changes), nothing (mkdirs). */
export async function runLayerWorker<T = LayerTarResult | null>(mapping: IdMapping, request: LayerWorkerRequest): Promise<T> {
  const result = await runNodeInUserNamespace(mapping, new URL('./layer-worker.js', import.meta.url), [], {
    input: JSON.stringify(request),
    allowFailure: true,
  });
  if (result.exitCode !== 0) throw new StepError(result.stderr.trim().split('\n').pop() || `the layer worker failed (status ${result.exitCode})`);
  return JSON.parse(result.stdout) as T;
}

/**
 * Records a step's result under `key`: its layer (the tar the worker wrote, unless the step changed
 * nothing) goes into the store first, then the cache entry `makeEntry` builds around it, in one hold of the
 * store lock. Returns the entry.
 */
export async function commitStep(
  store: ImageStore,
  mapping: IdMapping,
  key: string,
  tar: ({ path: string; dir?: string } & LayerTarResult) | undefined,
  makeEntry: (layer: Descriptor | undefined) => BuildCacheEntry,
): Promise<BuildCacheEntry> {
  return store.withLock(async () => {
    let layer: Descriptor | undefined;
    if (tar && tar.entries > 0) {
      const blob = await adoptSpooled(store.root, { path: tar.path, digest: tar.digest, size: tar.size }, { digest: tar.digest, size: tar.size }, 'layer');
      if (tar.dir && tar.layerRecord) await putLayerInPlace(store.root, mapping, tar.dir, { diffID: blob.digest, size: blob.size, ...tar.layerRecord });
      else await unpackLayer(store.root, mapping, blob.digest, blob.digest);
      layer = { mediaType: MediaType.ociLayer, digest: blob.digest, size: blob.size };
    }
    const entry = makeEntry(layer);
    await writeBuildCacheEntry(store.root, key, entry);
    return entry;
  });
}
