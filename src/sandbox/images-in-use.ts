/**
 * Which images the store's containers and project sandboxes use, for the image store's removal, prune and
 * disk-use reports (image/ sits below sandbox/ and takes these sets from its caller). A container or sandbox
 * is running when the processes its state file names are the ones that started it (pid and start time).
 */
import { isRunning, listContainers } from '../container/lookup.js';
import { listSandboxes } from './live-state.js';

export interface ImagesInUse {
  /** Image ids every container and sandbox kept in the store was created from (`docker image prune -a` keeps them). */
  used: Set<string>;
  /** Those that run now (rmi refuses to remove them). */
  running: Set<string>;
}

export function imagesInUse(storeRoot: string): ImagesInUse {
  const inUse: ImagesInUse = { used: new Set(), running: new Set() };
  const add = (image: string, running: boolean) => {
    if (!image) return; // a container whose state is unreadable names no image
    inUse.used.add(image);
    if (running) inUse.running.add(image);
  };
  for (const container of listContainers(storeRoot)) add(container.config.image, isRunning(container));
  for (const sandbox of listSandboxes(storeRoot)) add(sandbox.state.image, sandbox.running);
  return inUse;
}
