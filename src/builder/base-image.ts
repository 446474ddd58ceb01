/** The one place a build turns an image reference (FROM, COPY --from) into an image: pulled when missing. */
import type { ImageStore, StoredImage } from '../image/store.js';
import { normalizedName, parseReference } from '../image/reference.js';
import { ensureImage } from '../registry/ensure.js';
import type { PullOptions } from '../registry/pull.js';

export interface BaseImageOptions extends Pick<PullOptions, 'progress' | 'deferUnpack' | 'mapping'> {
  /** Normalized reference → REPOSITORY@DIGEST to use for it (devbox.lock's entries). */
  pins?: ReadonlyMap<string, string>;
}

/**
 * `deferUnpack`: a pull stores the layers' blobs only, unpacked when a step first needs their files (a build
 * served by a build cache); `mapping`: the id map a pull unpacks for.
 */
export async function resolveBaseImage(store: ImageStore, ref: string, options: BaseImageOptions = {}): Promise<StoredImage> {
  const { pins, ...pull } = options;
  const parsed = pins?.size ? parseReference(ref) : undefined;
  const pinned = parsed && !parsed.digest ? pins!.get(normalizedName(parsed)) : undefined;
  return ensureImage(store, pinned ?? ref, { pull: 'missing', ...pull });
}
