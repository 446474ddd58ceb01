/** The one place a build turns an image reference (FROM, COPY --from) into an image: pulled when missing. */
import type { ImageStore, StoredImage } from '../image/store.js';
import { ensureImage } from '../registry/ensure.js';

export async function resolveBaseImage(store: ImageStore, ref: string): Promise<StoredImage> {
  return ensureImage(store, ref, { pull: 'missing' });
}
