/**
 * A directory of changes (an overlay upper directory after a RUN, or a COPY's staging directory) as an OCI
 * layer tar. Runs as root of the user namespace, which owns the files. What the overlay left is translated
 * into the OCI forms (image-spec layer.md):
 * - a whiteout is a character device 0/0 (kernel overlayfs, and fuse-overlayfs where mknod is allowed) or a
 *   `.wh.NAME` file (fuse-overlayfs otherwise): both become a `.wh.NAME` entry;
 * - an opaque directory carries `user.overlay.opaque` (kernel overlay with userxattr), `trusted.overlay.opaque`
 *   or `user.fuseoverlayfs.opaque`, or holds a `.wh..wh..opq` file (fuse-overlayfs): it gets a
 *   `.wh..wh..opq` entry;
 * - overlay and fuse-overlayfs bookkeeping xattrs never reach the layer; other xattrs go in as PAX records,
 *   as bytes (image/pax.ts: security.capability is binary).
 * Entries are written in sorted order with their ownership, mode and mtime; hard links stay hard links.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { encodePaxRecords, paxHeaderEntry, XATTR_PAX_PREFIX } from '../image/pax.js';
import { isReservedXattr, OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from '../storage/layer-format.js';
import { isWhiteout } from '../image/layer-view.js';

const OPAQUE_XATTRS = new Set(['user.overlay.opaque', 'trusted.overlay.opaque', 'user.fuseoverlayfs.opaque']);

export type XattrReader = (paths: readonly string[]) => Promise<Map<string, { name: string; value: Buffer }[]>>;

export interface LayerTarOptions {
  /** The directory of changes. */
  dir: string;
  /** The tar file to write. */
  out: string;
  /**
   * Paths (relative) that exist only because the sandbox mounted something there (/proc, /etc/hosts…):
   * left out while they are still an empty file or a directory with nothing else in it.
   */
  mountStubs?: ReadonlySet<string>;
  readXattrs: XattrReader;
}

export interface LayerTarResult {
  /** sha256 of the tar: the layer's diffID, and its blob digest since it is stored uncompressed. */
  digest: string;
  size: number;
  /** Entries written; 0 means the step changed nothing. */
  entries: number;
}

interface Entry {
  rel: string;
  stats: Stats;
  /** `.wh.` entries made from a whiteout device or marking an opaque directory. */
  marker?: 'whiteout' | 'opaque';
}

/** Entries of `rel`'s subtree, parents first, names sorted; mount stubs with nothing in them dropped. */
function collect(dir: string, rel: string, opaqueDirs: ReadonlySet<string>, stubs: ReadonlySet<string>): Entry[] {
  const entries: Entry[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const child = rel ? `${rel}/${name}` : name;
    const stats = lstatSync(join(dir, child));
    if (isWhiteout(stats)) {
      entries.push({ rel: rel ? `${rel}/${WHITEOUT_PREFIX}${name}` : `${WHITEOUT_PREFIX}${name}`, stats, marker: 'whiteout' });
      continue;
    }
    if (stats.isDirectory()) {
      const inside = collect(dir, child, opaqueDirs, stubs);
      if (stubs.has(child) && !inside.length) continue;
      entries.push({ rel: child, stats });
      if (opaqueDirs.has(child) && !inside.some((e) => e.rel === `${child}/${OPAQUE_WHITEOUT}`)) {
        entries.push({ rel: `${child}/${OPAQUE_WHITEOUT}`, stats, marker: 'opaque' });
      }
      entries.push(...inside);
      continue;
    }
    if (stubs.has(child) && stats.isFile() && stats.size === 0) continue;
    if (stats.isFile() || stats.isSymbolicLink() || stats.isFIFO()) entries.push({ rel: child, stats });
    // sockets and device nodes cannot be carried by a layer made in a user namespace
  }
  return entries;
}

function directoriesAndFiles(dir: string, rel: string, out: string[]): void {
  for (const name of readdirSync(join(dir, rel))) {
    const child = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(dir, child));
    if (st.isDirectory()) {
      out.push(child);
      directoriesAndFiles(dir, child, out);
    } else if (st.isFile()) out.push(child);
  }
}

export async function writeLayerTar(options: LayerTarOptions): Promise<LayerTarResult> {
  const { dir } = options;
  const paths: string[] = [];
  directoriesAndFiles(dir, '', paths);
  const xattrs = await options.readXattrs(paths.map((p) => join(dir, p)));
  const opaqueDirs = new Set<string>();
  const pax = new Map<string, [string, Buffer][]>();
  for (const rel of paths) {
    for (const { name, value } of xattrs.get(join(dir, rel)) ?? []) {
      if (OPAQUE_XATTRS.has(name)) {
        if (value.toString() === 'y') opaqueDirs.add(rel);
        continue;
      }
      if (!isReservedXattr(name)) pax.set(rel, [...(pax.get(rel) ?? []), [`${XATTR_PAX_PREFIX}${name}`, value]]);
    }
  }
  const entries = collect(dir, '', opaqueDirs, options.mountStubs ?? new Set());

  const pack = tar.pack();
  const hash = createHash('sha256');
  let size = 0;
  const written = pipeline(
    pack as unknown as Readable,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(options.out, { flags: 'wx', mode: 0o600 }),
  );
  written.catch(() => {}); // awaited below
  const linked = new Map<string, string>();
  try {
    for (const entry of entries) {
      const st = entry.stats;
      const base = { name: entry.rel, uid: st.uid, gid: st.gid, mtime: st.mtime, mode: st.mode & 0o7777 };
      if (entry.marker) {
        await addEntry(pack, { ...base, name: entry.rel, type: 'file', size: 0, mode: 0o644 });
      } else if (st.isDirectory()) {
        await addEntry(pack, withXattrs(pack, { ...base, type: 'directory' }, pax.get(entry.rel)));
      } else if (st.isSymbolicLink()) {
        await addEntry(pack, { ...base, type: 'symlink', linkname: readlinkSync(join(dir, entry.rel)) });
      } else if (st.isFIFO()) {
        await addEntry(pack, { ...base, type: 'fifo' });
      } else {
        const inode = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? linked.get(inode) : undefined;
        if (first !== undefined) {
          await addEntry(pack, { ...base, type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) linked.set(inode, entry.rel);
        const header = withXattrs(pack, { ...base, type: 'file', size: st.size }, pax.get(entry.rel));
        await pipeline(createReadStream(join(dir, entry.rel)), pack.entry(header));
      }
    }
    pack.finalize();
    await written;
  } catch (error) {
    pack.destroy(error as Error);
    throw error;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size, entries: entries.length };
}

type EntryHeader = Partial<tar.Header> & { name: string };

function addEntry(pack: tar.Pack, header: EntryHeader): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, '', (error) => (error ? reject(error) : resolve())));
}

/**
 * An entry with xattrs gets a PAX header of devbox's own (image/pax.ts), pushed between two entries, with
 * the values as bytes and the entry's path; the entry's ustar name then only has to be one tar-stream writes
 * as is (ASCII, short), or tar-stream would add a second PAX header of its own, which would replace this
 * one. Returns the entry's header. Call only when no entry is being written.
 */
function withXattrs(pack: tar.Pack, header: EntryHeader, records: [string, Buffer][] | undefined): EntryHeader {
  if (!records) return header;
  pack.push(paxHeaderEntry(encodePaxRecords([['path', Buffer.from(header.name)], ...records]), header.mtime ?? new Date(0)));
  const name = /^[\x20-\x7e]{1,99}$/.test(header.name) ? header.name : header.name.replace(/[^\x20-\x7e]/g, '_').slice(-99);
  return { ...header, name };
}
