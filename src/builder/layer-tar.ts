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
import {
  createReadStream,
  createWriteStream,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  unlinkSync,
  utimesSync,
  type Stats,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { encodePaxRecords, paxHeaderEntry, XATTR_PAX_PREFIX } from '../image/pax.js';
import { isReservedXattr, OPAQUE_WHITEOUT, OPAQUE_XATTR, WHITEOUT_PREFIX, type LayerXattr } from '../storage/layer-format.js';
import { isWhiteout } from '../image/layer-view.js';

/**
 * Files up to this size go into the tar read whole: a read stream per file costs more than most files of a
 * package install (a tree of 4,851 files, 187 MB, at load 11: 10–14 s streamed, 2.5–6.6 s read whole).
 */
const WHOLE_FILE_MAX = 8 << 20;

const OPAQUE_XATTRS = new Set(['user.overlay.opaque', 'trusted.overlay.opaque', 'user.fuseoverlayfs.opaque']);
/**
 * What kernel overlayfs (userxattr) writes on a copied-up file or directory for inode numbers: it reads them on
 * the upper layer only, never on a lower one, and hides them from listxattr. An upper directory carrying them
 * can still become a lower layer as it is.
 */
const UPPER_ONLY_XATTRS = new Set(['user.overlay.origin', 'user.overlay.impure']);

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
  /**
   * The directory may become the unpacked layer itself (a kernel overlay's upper directory): when it is in
   * the store's layer format, the mount stubs left out of the tar are removed from it too, and the result
   * says what the layer's record needs (`asLayer`).
   */
  asLayer?: boolean;
}

/** What an unpacked layer's record says beyond its diffID and size (storage/layer-format.ts). */
export interface LayerDirRecord {
  opaqueDirs: string[];
  xattrs: LayerXattr[];
}

export interface LayerTarResult {
  /** sha256 of the tar: the layer's diffID, and its blob digest since it is stored uncompressed. */
  digest: string;
  size: number;
  /** Entries written; 0 means the step changed nothing. */
  entries: number;
  /**
   * With `asLayer`, when the directory is now exactly what unpacking the tar would make (whiteouts as 0/0
   * devices, opaque directories marked by user.overlay.opaque only, no overlay bookkeeping, nothing the tar
   * leaves out): its record. The store can then take the directory as the layer instead of unpacking the tar.
   */
  layerRecord?: LayerDirRecord;
}

interface Entry {
  rel: string;
  stats: Stats;
  /** `.wh.` entries made from a whiteout device or marking an opaque directory. */
  marker?: 'whiteout' | 'opaque';
}

/** What a walk of the directory found besides the entries: what keeps it from being a layer as it is. */
interface Walk {
  /** Mount stubs left out (to remove from a directory that becomes the layer). */
  stubs: { rel: string; dir: boolean }[];
  /** Something the tar has in another form than the directory, or leaves out (not a stub). */
  foreign: boolean;
}

/** Entries of `rel`'s subtree, parents first, names sorted; mount stubs with nothing in them dropped. */
function collect(dir: string, rel: string, opaqueDirs: ReadonlySet<string>, stubs: ReadonlySet<string>, walk: Walk): Entry[] {
  const entries: Entry[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const child = rel ? `${rel}/${name}` : name;
    const stats = lstatSync(join(dir, child));
    if (name.startsWith(WHITEOUT_PREFIX)) walk.foreign = true; // fuse-overlayfs's whiteout and opaque files
    if (isWhiteout(stats)) {
      entries.push({ rel: rel ? `${rel}/${WHITEOUT_PREFIX}${name}` : `${WHITEOUT_PREFIX}${name}`, stats, marker: 'whiteout' });
      continue;
    }
    if (stats.isDirectory()) {
      const inside = collect(dir, child, opaqueDirs, stubs, walk);
      if (stubs.has(child) && !inside.length) {
        walk.stubs.push({ rel: child, dir: true });
        continue;
      }
      entries.push({ rel: child, stats });
      if (opaqueDirs.has(child) && !inside.some((e) => e.rel === `${child}/${OPAQUE_WHITEOUT}`)) {
        entries.push({ rel: `${child}/${OPAQUE_WHITEOUT}`, stats, marker: 'opaque' });
      }
      entries.push(...inside);
      continue;
    }
    if (stubs.has(child) && stats.isFile() && stats.size === 0) {
      walk.stubs.push({ rel: child, dir: false });
      continue;
    }
    if (stats.isFile() || stats.isSymbolicLink() || stats.isFIFO()) entries.push({ rel: child, stats });
    else walk.foreign = true; // sockets and device nodes cannot be carried by a layer made in a user namespace
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
  const walk: Walk = { stubs: [], foreign: false };
  const layerXattrs: LayerXattr[] = [];
  for (const rel of paths) {
    for (const { name, value } of xattrs.get(join(dir, rel)) ?? []) {
      if (OPAQUE_XATTRS.has(name)) {
        if (value.toString() === 'y') opaqueDirs.add(rel);
        if (name !== OPAQUE_XATTR || value.toString() !== 'y') walk.foreign = true;
        continue;
      }
      if (UPPER_ONLY_XATTRS.has(name)) continue; // kernel overlay's own marks, which it reads on an upper layer only
      if (isReservedXattr(name))
        walk.foreign = true; // other overlay bookkeeping: such a directory is unpacked from its tar
      else {
        pax.set(rel, [...(pax.get(rel) ?? []), [`${XATTR_PAX_PREFIX}${name}`, value]]);
        layerXattrs.push({ path: rel, name, value: value.toString('hex') });
      }
    }
  }
  const entries = collect(dir, '', opaqueDirs, options.mountStubs ?? new Set(), walk);

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
        const path = join(dir, entry.rel);
        if (st.size <= WHOLE_FILE_MAX) await addEntry(pack, header, readFileSync(path));
        else await pipeline(createReadStream(path), pack.entry(header));
      }
    }
    pack.finalize();
    await written;
  } catch (error) {
    pack.destroy(error as Error);
    throw error;
  }
  const result: LayerTarResult = { digest: `sha256:${hash.digest('hex')}`, size, entries: entries.length };
  if (!options.asLayer || walk.foreign) return result;
  // The walk lists a stub directory's stubs before it, so it is empty when its turn comes; their parents keep
  // the times the tar gives them.
  for (const stub of walk.stubs) (stub.dir ? rmdirSync : unlinkSync)(join(dir, stub.rel));
  const times = new Map(entries.filter((e) => !e.marker && e.stats.isDirectory()).map((e) => [e.rel, e.stats]));
  for (const parent of new Set(walk.stubs.map((stub) => dirname(stub.rel)))) {
    const stats = times.get(parent);
    if (stats) utimesSync(join(dir, parent), stats.atime, stats.mtime);
  }
  return { ...result, layerRecord: { opaqueDirs: [...opaqueDirs], xattrs: layerXattrs } };
}

type EntryHeader = Partial<tar.Header> & { name: string };

function addEntry(pack: tar.Pack, header: EntryHeader, content: Buffer | string = ''): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, content, (error) => (error ? reject(error) : resolve())));
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
