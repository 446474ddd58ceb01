/**
 * Reading an image archive (a tar): its small files (manifests, configs) are kept in memory, its blobs are
 * spooled into the store's tmp/ as they stream past, since manifest.json may come last. Entry names are
 * confined like layer entries; symlinks (old docker-archives link repeated layers) resolve inside the archive.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { DevboxError } from '../util/errors.js';
import { tempPath } from './blobs.js';
import { entryPath } from './tar-paths.js';

const SMALL_FILE = 1 << 20;

export interface ArchiveContents {
  /** Files up to 1 MiB, by path. */
  small: Map<string, Buffer>;
  /** Every regular file, by path, as a temp file in the store. */
  spooled: Map<string, string>;
  links: Map<string, string>;
  cleanup(): Promise<void>;
}

export async function readArchive(root: string, source: Readable, label: string): Promise<ArchiveContents> {
  await fs.mkdir(join(root, 'tmp'), { recursive: true });
  const contents: ArchiveContents = {
    small: new Map(),
    spooled: new Map(),
    links: new Map(),
    cleanup: async () => {
      for (const path of contents.spooled.values()) await fs.rm(path, { force: true });
    },
  };
  const extract = tar.extract();
  source.on('error', (error) => extract.destroy(error));
  source.pipe(extract);
  try {
    for await (const entry of extract) {
      const name = entryPath(entry.header.name);
      if (entry.header.type === 'file' || entry.header.type === 'contiguous-file') {
        const temp = tempPath(root, 'archive');
        contents.spooled.set(name, temp);
        if ((entry.header.size ?? 0) <= SMALL_FILE) {
          const chunks: Buffer[] = [];
          for await (const c of entry) chunks.push(c as Buffer);
          const data = Buffer.concat(chunks);
          contents.small.set(name, data);
          await fs.writeFile(temp, data);
        } else await pipeline(entry, createWriteStream(temp, { flags: 'wx' }));
      } else {
        if (entry.header.type === 'symlink' || entry.header.type === 'link') {
          const target = entry.header.type === 'symlink' ? posix.join(posix.dirname(name), entry.header.linkname ?? '') : entry.header.linkname ?? '';
          contents.links.set(name, entryPath(target));
        }
        entry.resume();
      }
    }
  } catch (error) {
    await contents.cleanup();
    if (error instanceof DevboxError) throw error;
    throw new DevboxError(`${label}: not a readable tar archive (${(error as Error).message})`, { cause: error });
  }
  return contents;
}

/** Follows archive-internal links to the file a name means. */
export function resolveArchivePath(contents: ArchiveContents, name: string): string {
  let current = entryPath(name);
  for (let i = 0; i < 16 && contents.links.has(current); i++) current = contents.links.get(current)!;
  return current;
}
