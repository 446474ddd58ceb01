/**
 * The one way devbox replaces a file: the new content goes to a temp file on the same file system, which is
 * renamed over the target, so a reader in another process sees the old file or the new one, never a part.
 * The temp name is unique (random), so two processes writing the same file never share a temp file.
 *
 * Durability is stated by every caller:
 * - `durable: true`: the temp file is fsynced before the rename and the directory after it, so after a
 *   crash or power loss the file is whole, old or new (the image store, credentials, a user's own files);
 * - `durable: false`: atomic for concurrent readers only; after a power loss the file may be old, empty or
 *   missing. For state that does not outlive a reboot (what runs now) and records that are probed again.
 *
 * A failed write removes its temp file. A crash between the write and the rename leaves it behind: beside the
 * target as `.NAME.XXXXXXXX.tmp`, or, for the image store, in its tmp/ where removeStaleTemps clears it.
 */
import { closeSync, fsyncSync, promises as fs, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomHex } from './random.js';

export interface AtomicWriteOptions {
  durable: boolean;
  /** Mode of a new file (default 0644, less the umask). */
  mode?: number;
  /** Where to write first (default: tempBeside(path)); on the target's file system. */
  temp?: string;
}

/** A temp path in the target's directory, unique to this call. */
export function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomHex(4)}.tmp`);
}

/** The temp name was taken ('wx' refuses an existing file): that file is another writer's, not ours to remove. */
function isSomeoneElses(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'EEXIST';
}

/** fsync of a file, or of a directory so that a rename into it survives a power loss. */
export async function syncPath(path: string): Promise<void> {
  const handle = await fs.open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function syncPathSync(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Renames a complete temp file over `path` (for writers that stream into the temp file themselves). On
 * failure the temp file is removed.
 */
export async function commitTemp(temp: string, path: string, options: { durable: boolean }): Promise<void> {
  try {
    if (options.durable) await syncPath(temp);
    await fs.rename(temp, path);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  if (options.durable) await syncPath(dirname(path));
}

/** Replaces `path` with `data` atomically (see the module comment for `durable`). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions): Promise<void> {
  const temp = options.temp ?? tempBeside(path);
  try {
    await fs.writeFile(temp, data, { mode: options.mode ?? 0o644, flag: 'wx' });
  } catch (error) {
    if (!isSomeoneElses(error)) await fs.rm(temp, { force: true });
    throw error;
  }
  await commitTemp(temp, path, options);
}

/** writeFileAtomic for synchronous callers. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, options: AtomicWriteOptions): void {
  const temp = options.temp ?? tempBeside(path);
  try {
    writeFileSync(temp, data, { mode: options.mode ?? 0o644, flag: 'wx' });
  } catch (error) {
    if (!isSomeoneElses(error)) rmSync(temp, { force: true });
    throw error;
  }
  try {
    if (options.durable) syncPathSync(temp);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  if (options.durable) syncPathSync(dirname(path));
}
