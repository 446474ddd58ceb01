/** Writing an image's config and OCI manifest into the store and registering it under its names. */
import { MediaType, type Descriptor, type ImageConfig, type ImageManifest } from './oci.js';
import { writeBlobBytes } from './blobs.js';
import type { ImageStore } from './store.js';

/** Stores config + manifest for layers already in the store and names the image; returns its id. Call under the lock. */
export async function commitImage(store: ImageStore, config: ImageConfig, layers: Descriptor[], names: string[]): Promise<string> {
  const configBlob = await writeBlobBytes(store.root, JSON.stringify(config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configBlob.digest, size: configBlob.size },
    layers,
  };
  const manifestBlob = await writeBlobBytes(store.root, JSON.stringify(manifest));
  await store.addImages([{ id: configBlob.digest, manifestDigest: manifestBlob.digest, names }]);
  return configBlob.digest;
}
