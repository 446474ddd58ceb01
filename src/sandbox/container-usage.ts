/**
 * Disk use of containers kept in the store, for `devbox system df`: the bytes of each container's writable
 * layer (upper/, or the private copy rootfs/ of the copy backend), a lower bound (util/disk-usage.ts).
 */
import { join } from 'node:path';
import { isRunning, listContainers } from '../container/lookup.js';
import { treeBytes } from '../util/disk-usage.js';

export interface ContainersUsage {
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

/** Bytes of a container's writable layer (upper/, or the private copy rootfs/). */
export function containerSize(dir: string): number {
  return treeBytes(join(dir, 'upper')) + treeBytes(join(dir, 'rootfs'));
}

export function containersUsage(storeRoot: string): ContainersUsage {
  const usage: ContainersUsage = { total: 0, active: 0, size: 0, reclaimable: 0 };
  for (const container of listContainers(storeRoot)) {
    const bytes = containerSize(container.dir);
    usage.total++;
    usage.size += bytes;
    if (isRunning(container)) usage.active++;
    else usage.reclaimable += bytes;
  }
  return usage;
}
