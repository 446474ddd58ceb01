/**
 * Bytes a directory tree takes on disk, as this user can see it: directories it cannot read (files of a
 * container's ids) are not counted, so the figure is a lower bound. For `devbox system df` and the prunes.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function treeBytes(path: string): number {
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
