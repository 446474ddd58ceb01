/**
 * The store lock: one writer at a time across devbox processes, on <root>/lock (util/file-lock.ts). Loaded
 * only when something is written: `devbox run` with its layers in place never needs it.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { withFileLock } from '../util/file-lock.js';
import { removeStaleTemps, tempDir } from './durable.js';

export async function withStoreLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  await fs.mkdir(tempDir(root), { recursive: true });
  return withFileLock(join(root, 'lock'), `the image store ${root}`, fn, () => removeStaleTemps(root));
}
