/**
 * The store's temp files: in <root>/tmp (same file system as everything in the store), named so that
 * removeStaleTemps can tell them from other files there and clear what a crashed command left. Store files
 * are replaced durably through util/atomic-write.ts with a temp file from here.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { randomHex } from '../util/random.js';

/** Prefixes of the temp files the image store makes in tmp/ (other code may use tmp/ for its own). */
const TEMP_PREFIXES = ['blob', 'archive', 'file'] as const;
export type TempLabel = (typeof TEMP_PREFIXES)[number];
const TEMP_NAME = new RegExp(`^(?:${TEMP_PREFIXES.join('|')})-[0-9a-f]{12}$`);

export function tempDir(root: string): string {
  return join(root, 'tmp');
}

/** A fresh temp path in the store's tmp/. */
export function tempPath(root: string, label: TempLabel): string {
  return join(tempDir(root), `${label}-${randomHex(6)}`);
}

/** Replaces `path` with `data` atomically and durably. Call under the store lock. */
export async function writeStoreFile(root: string, path: string, data: string | Buffer): Promise<void> {
  await fs.mkdir(tempDir(root), { recursive: true });
  await writeFileAtomic(path, data, { durable: true, temp: tempPath(root, 'file') });
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
