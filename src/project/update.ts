/** `devbox update`: every base image reference of the project pulled again and devbox.lock rewritten. */
import { ImageStore } from '../image/store.js';
import { readSettings } from '../settings/settings.js';
import { lockBaseImages, type LockedImages } from './base-images.js';
import { loadProject } from './load.js';

/** The lock after the update, and what changed in it; the sandbox is remade on the next entry when anything did. */
export async function updateProjectLock(cwd = process.cwd()): Promise<LockedImages> {
  const project = loadProject(cwd);
  return lockBaseImages(ImageStore.open(readSettings().storageRoot), project, { update: true });
}
