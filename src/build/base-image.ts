/**
 * The one place a build turns an image reference (FROM, COPY --from) into an image: today the local store.
 * When the registry client lands, this becomes `ensureImage(store, ref, { pull })`.
 */
import type { ImageStore, StoredImage } from '../image/store.js';
import { DevboxError } from '../util/errors.js';

export async function resolveBaseImage(store: ImageStore, ref: string): Promise<StoredImage> {
  if (store.find(ref) === undefined) {
    throw new DevboxError(`image "${ref}" is not in the local store`, {
      fix: 'load it first ("devbox image load -i FILE" or "devbox image import ROOTFS.tar NAME"), or name a stage of this Dockerfile',
    });
  }
  return store.resolve(ref);
}
