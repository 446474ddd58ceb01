/**
 * Disk use of containers kept in the store, for `devbox system df`: the bytes of each container's writable
 * layer (upper/, or the private copy rootfs/ of the copy backend), a lower bound (util/disk-usage.ts).
 */
import { join } from 'node:path';
import { treeBytes } from '../util/disk-usage.js';
import { listContainers } from './containers.js';

export interface ContainersUsage {
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

export function containersUsage(storeRoot: string): ContainersUsage {
  const usage: ContainersUsage = { total: 0, active: 0, size: 0, reclaimable: 0 };
  for (const container of listContainers(storeRoot)) {
    const bytes = treeBytes(join(container.dir, 'upper')) + treeBytes(join(container.dir, 'rootfs'));
    usage.total++;
    usage.size += bytes;
    if (container.running) usage.active++;
    else usage.reclaimable += bytes;
  }
  return usage;
}
