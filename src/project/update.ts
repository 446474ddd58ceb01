/** `devbox update`: every base image reference and Feature of the project fetched again and devbox.lock rewritten. */
import { ImageStore } from '../image/store.js';
import { readSettings } from '../settings/settings.js';
import { lockBaseImages, type LockedImages } from './base-images.js';
import { lockFeatures } from './devcontainer/feature-resolve.js';
import { loadProject } from './load.js';

/** The lock after the update, and what changed in it; the sandbox is remade on the next entry when anything did. */
export async function updateProjectLock(cwd = process.cwd()): Promise<LockedImages & { featuresChanged: boolean }> {
  const project = loadProject(cwd);
  const store = ImageStore.open(readSettings().storageRoot);
  const images = await lockBaseImages(store, project, { update: true });
  const features = await lockFeatures(project, store.root, true);
  return { ...images, lock: { ...images.lock, features: features.pins }, featuresChanged: features.changed };
}
