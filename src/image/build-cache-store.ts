/**
 * The build cache's entries in the store: build-cache/<key>.json holds the image as it stood after one
 * build step (its config and layer descriptors), so a later build that reaches the same step with the same
 * inputs reuses it. The store treats an entry like an image: gc keeps the blobs and unpacked layers it
 * names. The keys themselves are the build's business (build/cache.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blobExists } from './blobs.js';
import { writeStoreFile } from './durable.js';
import type { Descriptor, ImageConfig } from './oci.js';

export interface BuildCacheEntry {
  config: ImageConfig;
  layers: Descriptor[];
}

export function buildCacheDir(root: string): string {
  return join(root, 'build-cache');
}

const KEY = /^[a-f0-9]{64}$/;

function entryPath(root: string, key: string): string {
  if (!KEY.test(key)) throw new Error(`not a build cache key: ${key}`);
  return join(buildCacheDir(root), `${key}.json`);
}

/** The entry for `key`, or undefined when there is none or one of its layer blobs is gone. */
export function readBuildCacheEntry(root: string, key: string): BuildCacheEntry | undefined {
  let entry: BuildCacheEntry;
  try {
    entry = JSON.parse(readFileSync(entryPath(root, key), 'utf8')) as BuildCacheEntry;
  } catch {
    return undefined;
  }
  if (!entry?.config?.rootfs || !Array.isArray(entry.layers)) return undefined;
  return entry.layers.every((l) => blobExists(root, l.digest)) ? entry : undefined;
}

/** Records an entry; call under the store lock, with its layer blobs already stored. */
export async function writeBuildCacheEntry(root: string, key: string, entry: BuildCacheEntry): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(buildCacheDir(root), { recursive: true });
  await writeStoreFile(root, entryPath(root, key), JSON.stringify(entry));
}

/** Every entry, for gc; unreadable ones are skipped (they protect nothing). */
export function listBuildCacheEntries(root: string): BuildCacheEntry[] {
  let names: string[];
  try {
    names = readdirSync(buildCacheDir(root));
  } catch {
    return [];
  }
  const entries: BuildCacheEntry[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    try {
      entries.push(JSON.parse(readFileSync(join(buildCacheDir(root), name), 'utf8')) as BuildCacheEntry);
    } catch {
      // being written (a temp file renamed later) or damaged
    }
  }
  return entries;
}
