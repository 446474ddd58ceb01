/**
 * The image for a reference, pulled when the policy says so: what `devbox run` and a Dockerfile's FROM call.
 * Loads the registry client only when it pulls, so a run of a stored image stays on the hot path.
 */
import { unknownImage, type ImageStore, type StoredImage } from '../image/store.js';
import type { PullOptions } from './pull.js';

/** Docker's --pull values: pull when not stored (default), pull every time, or never pull. */
export const PULL_POLICIES = ['missing', 'always', 'never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export interface EnsureImageOptions extends PullOptions {
  pull: PullPolicy;
}

export async function ensureImage(store: ImageStore, ref: string, options: EnsureImageOptions): Promise<StoredImage> {
  if (options.pull !== 'always') {
    const found = store.find(ref);
    if (found) return store.resolve(found.id);
    if (options.pull === 'never') throw unknownImage(ref);
  }
  const { pullImage } = await import('./pull.js');
  return pullImage(store, ref, options);
}
