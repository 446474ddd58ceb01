/**
 * Reading an image archive (a tar, plain or gzip): every regular file is spooled into the store's tmp/ as it
 * streams past, hashed on the way (manifest.json may come last, so nothing can be placed before the end);
 * files up to 1 MiB (manifests, configs, index.json) are also kept in memory. A spooled blob later moves
 * into blobs/ by rename, without a second copy. Names are confined like layer entries; archive-internal
 * links (old docker-archives link repeated layers) are followed by name, never on disk.
 */
import { promises as fs } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { DevboxError } from '../util/errors.js';
import { spool, type SpooledFile } from './blobs.js';
import { decompressed, describeStreamError } from './layer-stream.js';
import { entryPath } from './tar-paths.js';

const SMALL_FILE = 1 << 20;
const MAX_LINK_HOPS = 16;

export interface ArchiveContents {
  /** Files up to 1 MiB, by path. */
  small: Map<string, Buffer>;
  /** Every regular file, by path, spooled into the store's tmp/ with its digest. */
  files: Map<string, SpooledFile>;
  /** Symlinks and hard links: path → the path they stand for. */
  links: Map<string, string>;
  /** Removes the spooled files that were not moved into blobs/. */
  cleanup(): Promise<void>;
}

export async function readArchive(root: string, source: Readable, label: string): Promise<ArchiveContents> {
  const contents: ArchiveContents = {
    small: new Map(),
    files: new Map(),
    links: new Map(),
    cleanup: async () => {
      for (const file of contents.files.values()) await fs.rm(file.path, { force: true });
    },
  };
  try {
    const tarStream = await decompressed(source, label);
    const extract = tar.extract();
    tarStream.on('error', (error) => extract.destroy(error));
    tarStream.pipe(extract);
    for await (const entry of extract) {
      const { header } = entry;
      const name = entryPath(header.name);
      if (header.type === 'file' || header.type === 'contiguous-file') {
        const previous = contents.files.get(name);
        if (previous) await fs.rm(previous.path, { force: true }); // a later member of the same name wins
        const file = await spool(root, entry as unknown as Readable, 'archive');
        contents.files.set(name, file);
        if (file.size <= SMALL_FILE) contents.small.set(name, await fs.readFile(file.path));
        else contents.small.delete(name);
        continue;
      }
      if (header.type === 'symlink') contents.links.set(name, entryPath(posix.join(posix.dirname(name), header.linkname ?? '')));
      else if (header.type === 'link') contents.links.set(name, entryPath(header.linkname ?? ''));
      entry.resume();
    }
  } catch (error) {
    await contents.cleanup();
    if (error instanceof DevboxError) throw error;
    throw new DevboxError(`${label}: ${describeStreamError(error) ?? `not a readable tar archive (${(error as Error).message})`}`, { cause: error });
  }
  return contents;
}

/** Follows archive-internal links to the file a name means. */
export function resolveArchivePath(contents: ArchiveContents, name: string): string {
  let current = entryPath(name);
  for (let i = 0; i < MAX_LINK_HOPS && contents.links.has(current); i++) current = contents.links.get(current)!;
  return current;
}
