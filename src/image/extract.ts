/**
 * Extracts one layer tar into an empty directory, turning OCI whiteouts into the storage layer format.
 * Runs as root of the user namespace, so tar ownership lands in the mapped range. The tar is hostile until
 * proven otherwise: names are confined to the layer (tar-paths.ts), no entry is written through a symlink or
 * replaces a parent, files are created O_EXCL (never through an existing link), hard links stay inside.
 * File-system calls are synchronous: this runs in a worker process of its own, and a thread-pool round trip
 * per call would make unpacking several times slower.
 */
import {
  chmodSync, chownSync, closeSync, fchmodSync, fchownSync, ftruncateSync, futimesSync, lchownSync, linkSync, lstatSync,
  lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, utimesSync, writeSync, type Stats,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { FsOp } from '../userns/helper.js';
import { isReservedXattr, OPAQUE_XATTR, type LayerXattr } from '../storage/layer-format.js';
import { classifyWhiteout, entryPath, hardlinkTarget, parentsOf, UnsafeEntryError } from './tar-paths.js';

export interface ExtractOptions {
  root: string;
  /** Single-id map: only root exists, so ownership is not applied (everything belongs to root). */
  squashOwnership: boolean;
  /** Makes whiteouts, FIFOs and xattrs (the helper's fsops mode in production). */
  applyFsOps: (ops: FsOp[]) => Promise<void>;
}

export interface ExtractResult {
  opaqueDirs: string[];
  xattrs: LayerXattr[];
  skippedDevices: string[];
}

const BLOCK = 4096;
const ZEROS = Buffer.alloc(BLOCK);
const XATTR_PAX = 'SCHILY.xattr.';

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Writes a file's content, leaving all-zero 4 KiB blocks (aligned in the file) as holes so sparse files stay
 * sparse. tar bodies arrive in pieces of any size: bytes are held back until a whole block is known.
 */
class SparseWriter {
  private pos = 0;
  private pending = Buffer.alloc(0);

  constructor(private readonly fd: number) {}

  write(chunk: Buffer): void {
    const data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const whole = data.length - (data.length % BLOCK);
    this.writeBlocks(data.subarray(0, whole));
    this.pending = Buffer.from(data.subarray(whole));
  }

  /** Writes what is left and sets the size, which also makes a trailing hole. */
  end(): void {
    if (this.pending.length) writeSync(this.fd, this.pending, 0, this.pending.length, this.pos);
    ftruncateSync(this.fd, this.pos + this.pending.length);
  }

  private writeBlocks(data: Buffer): void {
    let runStart = -1;
    for (let i = 0; i <= data.length; i += BLOCK) {
      const zero = i < data.length && data.compare(ZEROS, 0, BLOCK, i, i + BLOCK) === 0;
      const atEnd = i === data.length;
      if ((zero || atEnd) && runStart >= 0) {
        writeSync(this.fd, data, runStart, i - runStart, this.pos + runStart);
        runStart = -1;
      } else if (!zero && !atEnd && runStart < 0) runStart = i;
    }
    this.pos += data.length;
  }
}

interface DirMeta {
  path: string;
  uid: number;
  gid: number;
  mode: number;
  mtime: Date;
}

class LayerExtractor {
  private readonly dirs = new Map<string, DirMeta>();
  private readonly whiteouts = new Set<string>();
  private readonly fifos = new Map<string, { uid: number; gid: number; mode: number; mtime: Date }>();
  private readonly opaque = new Set<string>();
  private readonly xattrs: LayerXattr[] = [];
  private readonly skippedDevices: string[] = [];

  constructor(private readonly options: ExtractOptions) {}

  private abs(rel: string): string {
    return join(this.options.root, rel);
  }

  /** Makes every parent of rel a real directory: missing ones are created, a symlink or file is refused. */
  private ensureParents(rel: string, entry: string): void {
    for (const parent of parentsOf(rel)) {
      const st = lstatOrNull(this.abs(parent));
      if (!st) mkdirSync(this.abs(parent), { mode: 0o755 });
      else if (st.isSymbolicLink()) throw new UnsafeEntryError(`entry "${entry}" passes through the symlink "${parent}"`);
      else if (!st.isDirectory()) throw new UnsafeEntryError(`entry "${entry}" passes through "${parent}", which is not a directory`);
    }
  }

  /** Removes whatever is at rel, unless it is a directory and a directory is wanted there. */
  private clear(rel: string, keepDirectory: boolean): boolean {
    const st = lstatOrNull(this.abs(rel));
    if (!st) return false;
    if (st.isDirectory() && keepDirectory) return true;
    rmSync(this.abs(rel), { recursive: true, force: true });
    this.whiteouts.delete(rel);
    this.fifos.delete(rel);
    return false;
  }

  private ownLink(path: string, header: tar.Header): void {
    if (!this.options.squashOwnership) lchownSync(path, header.uid ?? 0, header.gid ?? 0);
  }

  private recordXattrs(rel: string, header: tar.Header): void {
    for (const [key, value] of Object.entries((header.pax ?? {}) as Record<string, string>)) {
      if (!key.startsWith(XATTR_PAX)) continue;
      const name = key.slice(XATTR_PAX.length);
      // tar-stream decodes PAX records as UTF-8: a binary value (security.capability) would arrive mangled.
      if (isReservedXattr(name) || value.includes('\uFFFD')) continue;
      this.xattrs.push({ path: rel, name, value: Buffer.from(value, 'utf8').toString('hex') });
    }
  }

  async entry(header: tar.Header, body: Readable): Promise<void> {
    const rel = entryPath(header.name);
    const whiteout = classifyWhiteout(rel);
    if (whiteout.kind === 'opaque') {
      // Its parents, the opaque directory among them, are made real directories.
      this.ensureParents(rel, header.name);
      if (whiteout.dir) this.opaque.add(whiteout.dir);
      return;
    }
    if (whiteout.kind === 'whiteout') {
      this.ensureParents(whiteout.target, header.name);
      this.clear(whiteout.target, false);
      this.whiteouts.add(whiteout.target);
      return;
    }
    if (!rel) return; // the layer root itself: its metadata belongs to the layers below
    this.ensureParents(rel, header.name);
    const path = this.abs(rel);
    const mode = (header.mode ?? 0o644) & 0o7777;
    const mtime = header.mtime ?? new Date(0);
    switch (header.type) {
      case 'directory': {
        if (!this.clear(rel, true)) mkdirSync(path, { mode: 0o700 });
        this.dirs.set(rel, { path, uid: header.uid ?? 0, gid: header.gid ?? 0, mode, mtime });
        break;
      }
      case 'file':
      case 'contiguous-file': {
        this.clear(rel, false);
        const fd = openSync(path, 'wx', 0o600);
        try {
          const writer = new SparseWriter(fd);
          for await (const chunk of body) writer.write(chunk as Buffer);
          writer.end();
          if (!this.options.squashOwnership) fchownSync(fd, header.uid ?? 0, header.gid ?? 0);
          fchmodSync(fd, mode); // after chown, which clears setuid and setgid
          futimesSync(fd, mtime, mtime);
        } finally {
          closeSync(fd);
        }
        break;
      }
      case 'symlink': {
        this.clear(rel, false);
        symlinkSync(header.linkname ?? '', path);
        this.ownLink(path, header);
        lutimesSync(path, mtime, mtime);
        break;
      }
      case 'link': {
        const target = hardlinkTarget(header.name, header.linkname ?? '');
        this.ensureParents(target, header.name);
        const st = lstatOrNull(this.abs(target));
        if (!st) throw new UnsafeEntryError(`hard link "${header.name}" points at "${header.linkname}", which is not in the layer`);
        if (st.isDirectory()) throw new UnsafeEntryError(`hard link "${header.name}" points at a directory`);
        if (target === rel) break;
        this.clear(rel, false);
        linkSync(this.abs(target), path);
        break;
      }
      case 'fifo': {
        this.clear(rel, false);
        this.fifos.set(rel, { uid: header.uid ?? 0, gid: header.gid ?? 0, mode, mtime });
        break;
      }
      case 'character-device':
      case 'block-device':
        // A user namespace may not create device nodes (containers/storage skips them the same way).
        this.skippedDevices.push(rel);
        return;
      default:
        return; // pax and GNU extension headers are consumed by tar-stream; nothing else is stored
    }
    this.recordXattrs(rel, header);
  }

  async finish(): Promise<ExtractResult> {
    const ops: FsOp[] = [
      ...[...this.fifos].map(([rel, f]): FsOp => ({ op: 'fifo', path: this.abs(rel), mode: f.mode })),
      ...[...this.whiteouts].map((rel): FsOp => ({ op: 'whiteout', path: this.abs(rel) })),
      ...[...this.opaque].map((rel): FsOp => ({ op: 'xattr', path: this.abs(rel), name: OPAQUE_XATTR, value: Buffer.from('y') })),
      ...this.xattrs.map((x): FsOp => ({ op: 'xattr', path: this.abs(x.path), name: x.name, value: Buffer.from(x.value, 'hex') })),
    ];
    if (ops.length) await this.options.applyFsOps(ops);
    for (const [rel, f] of this.fifos) {
      if (!this.options.squashOwnership) lchownSync(this.abs(rel), f.uid, f.gid);
      utimesSync(this.abs(rel), f.mtime, f.mtime);
    }
    // Deepest first: creating entries changed the parents' mtimes.
    for (const d of [...this.dirs.values()].sort((a, b) => b.path.length - a.path.length)) {
      if (!this.options.squashOwnership) chownSync(d.path, d.uid, d.gid);
      chmodSync(d.path, d.mode);
      utimesSync(d.path, d.mtime, d.mtime);
    }
    return { opaqueDirs: [...this.opaque], xattrs: this.xattrs, skippedDevices: this.skippedDevices };
  }
}

/** Extracts the (uncompressed) tar stream into options.root, which must exist and be empty. */
export async function extractLayer(tarStream: Readable, options: ExtractOptions): Promise<ExtractResult> {
  const extractor = new LayerExtractor(options);
  const extract = tar.extract();
  tarStream.on('error', (error) => extract.destroy(error));
  tarStream.pipe(extract);
  for await (const entry of extract) {
    await extractor.entry(entry.header, entry as unknown as Readable);
    entry.resume(); // drain whatever the entry did not read
  }
  return extractor.finish();
}
