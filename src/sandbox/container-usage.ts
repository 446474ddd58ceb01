/**
 * Disk use of containers kept in the store, for `devbox system df`: the bytes of each container's writable
 * layer (upper/, or the private copy rootfs/ of the copy backend). Those files belong to the container's
 * ids; directories this user cannot read are not counted, so the figure is a lower bound.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning, listContainers } from '../container/lookup.js';

export interface ContainersUsage {
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

function treeBytes(path: string): number {
  let entries: string[];
  try {
    entries = readdirSync(path);
  } catch {
    return 0;
  }
  let bytes = 0;
  for (const name of entries) {
    const child = join(path, name);
    const stat = lstatSync(child, { throwIfNoEntry: false });
    if (!stat) continue;
    bytes += stat.isDirectory() ? treeBytes(child) : stat.isFile() ? stat.blocks * 512 : 0;
  }
  return bytes;
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
