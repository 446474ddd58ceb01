/**
 * Crash-safe writes into the store: a temp file in <root>/tmp (same file system), fsynced, renamed over the
 * target, and the target's directory fsynced so the rename itself survives a power loss. A crash leaves
 * the old file or the new one, and at worst a stray temp file, which removeStaleTemps clears.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';

/** Prefixes of the temp files the image store makes in tmp/ (other code may use tmp/ for its own). */
const TEMP_PREFIXES = ['blob', 'archive', 'file'] as const;
export type TempLabel = (typeof TEMP_PREFIXES)[number];
const TEMP_NAME = new RegExp(`^(?:${TEMP_PREFIXES.join('|')})-[0-9a-f]{12}$`);

export function tempDir(root: string): string {
  return join(root, 'tmp');
}

/** A fresh temp path in the store's tmp/. */
export function tempPath(root: string, label: TempLabel): string {
  return join(tempDir(root), `${label}-${randomBytes(6).toString('hex')}`);
}

/** fsync of a file, or of a directory so that a rename into it is durable. */
export async function syncPath(path: string): Promise<void> {
  const handle = await fs.open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path` with `data` atomically and durably. Call under the store lock. */
export async function writeFileAtomic(root: string, path: string, data: string | Buffer): Promise<void> {
  await fs.mkdir(tempDir(root), { recursive: true });
  const temp = tempPath(root, 'file');
  try {
    const handle = await fs.open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, path);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await syncPath(dirname(path));
}

/**
 * Removes temp files left by a devbox command that died (kill -9, power loss). Only valid under the store
 * lock: every writer of these temps holds it.
 */
export async function removeStaleTemps(root: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(tempDir(root));
  } catch {
    return;
  }
  for (const name of names) if (TEMP_NAME.test(name)) await fs.rm(join(tempDir(root), name), { force: true });
}
