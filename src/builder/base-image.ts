/** The one place a build turns an image reference (FROM, COPY --from) into an image: pulled when missing. */
import type { ImageStore, StoredImage } from '../image/store.js';
import { normalizedName, parseReference } from '../image/reference.js';
import { ensureImage } from '../registry/ensure.js';
import type { Progress } from '../util/progress.js';

/**
 * `pins`: normalized reference → REPOSITORY@DIGEST to use for it (devbox.lock's entries). `deferUnpack`: a pull
 * stores the layers' blobs only, unpacked when a step first needs their files (a build served by a build cache).
 */
export async function resolveBaseImage(
  store: ImageStore,
  ref: string,
  pins?: ReadonlyMap<string, string>,
  progress?: Progress,
  deferUnpack = false,
): Promise<StoredImage> {
  const parsed = pins?.size ? parseReference(ref) : undefined;
  const pinned = parsed && !parsed.digest ? pins!.get(normalizedName(parsed)) : undefined;
  return ensureImage(store, pinned ?? ref, { pull: 'missing', progress, deferUnpack });
}
