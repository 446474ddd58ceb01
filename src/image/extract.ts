/**
 * Extracts one layer tar into an empty directory, turning OCI whiteouts into the storage layer format.
 * Runs as root of the user namespace, so tar ownership lands in the mapped range. The tar is hostile until
 * proven otherwise:
 * - names are confined to the layer (tar-paths.ts), and no entry is written through a symlink: every
 *   existing parent is checked with lstat (once: see realDirs) and must be a real directory;
 * - whatever is at an entry's path is removed first, and files are created O_EXCL, so no existing link is
 *   ever opened; hard link targets must already be in the layer and are reached only through directories;
 * - metadata applied at the end (directories, FIFOs) goes through O_NOFOLLOW or l* calls, and anything
 *   removed meanwhile is forgotten first: a directory later replaced by a symlink must not have its mode
 *   applied to the symlink's target (containerd CVE-2021-32760 was that chmod).
 * File-system calls are synchronous: this runs in a worker process of its own, and a thread-pool round trip
 * per call would make unpacking several times slower.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { FsOp } from '../runtime/fsops.js';
import { isReservedXattr, OPAQUE_XATTR, type LayerXattr } from '../storage/layer-format.js';
import { abbreviate } from '../util/format.js';
import { keepRawPaxRecords, XATTR_PAX_PREFIX } from './pax.js';
import { SparseWriter } from './sparse-writer.js';
import { classifyWhiteout, entryKind, entryPath, hardlinkTarget, isSameOrBelow, LayerEntryError, parentsOf } from './tar-paths.js';

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

interface Meta {
  uid: number;
  gid: number;
  mode: number;
  mtime: Date;
}

const { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = constants;

/** Without an exception for a missing path: building one costs more than the lstat, once per entry. */
function lstatOrNull(path: string): Stats | null {
  return lstatSync(path, { throwIfNoEntry: false }) ?? null;
}

function metaOf(header: tar.Header): Meta {
  return { uid: header.uid ?? 0, gid: header.gid ?? 0, mode: (header.mode ?? 0o644) & 0o7777, mtime: header.mtime ?? new Date(0) };
}

class LayerExtractor {
  /** Work left for finish(), by path relative to the root; forget() drops what a later entry removed. */
  private readonly dirs = new Map<string, Meta>();
  private readonly fifos = new Map<string, Meta>();
  private readonly xattrs = new Map<string, LayerXattr[]>();
  private readonly whiteouts = new Set<string>();
  private readonly opaque = new Set<string>();
  /**
   * Paths known to be real directories: made by this layer or checked with lstat. Only this extractor
   * writes the temp directory, and every removal goes through clear(), which forgets them; so a parent
   * checked once needs no lstat for each of the thousands of entries below it.
   */
  private readonly realDirs = new Set<string>();
  private readonly skippedDevices: string[] = [];

  constructor(private readonly options: ExtractOptions) {}

  private abs(rel: string): string {
    return rel ? join(this.options.root, rel) : this.options.root;
  }

  /** Pending work for `rel` (and, when a directory went, everything below it) is void. */
  private forget(rel: string, subtree: boolean): void {
    for (const pending of [this.dirs, this.fifos, this.xattrs, this.whiteouts, this.opaque, this.realDirs]) {
      if (!subtree) {
        pending.delete(rel);
        continue;
      }
      for (const key of [...pending.keys()]) if (isSameOrBelow(key, rel)) pending.delete(key);
    }
  }

  /**
   * Makes sure every parent of `rel` is a real directory. Missing ones are created (with `create`) or make
   * the result false; a symlink or anything else that is not a directory is refused.
   */
  private checkParents(rel: string, entry: string, create: boolean): boolean {
    for (const parent of parentsOf(rel)) {
      if (this.realDirs.has(parent)) continue;
      const st = lstatOrNull(this.abs(parent));
      if (!st && this.fifos.has(parent)) throw new LayerEntryError(`entry "${entry}" passes through "${parent}", which is not a directory`);
      if (!st) {
        if (!create) return false;
        mkdirSync(this.abs(parent), { mode: 0o755 });
        this.whiteouts.delete(parent); // a directory made in this layer is no longer deleted by it
        this.realDirs.add(parent);
        continue;
      }
      if (st.isSymbolicLink()) throw new LayerEntryError(`entry "${entry}" passes through the symlink "${parent}"`);
      if (!st.isDirectory()) throw new LayerEntryError(`entry "${entry}" passes through "${parent}", which is not a directory`);
      this.realDirs.add(parent);
    }
    return true;
  }

  /** Removes whatever is at rel, unless it is a directory and a directory is wanted there (true then). */
  private clear(rel: string, keepDirectory: boolean): boolean {
    if (keepDirectory && this.realDirs.has(rel)) return true;
    const st = lstatOrNull(this.abs(rel));
    if (!st) {
      this.fifos.delete(rel); // FIFOs are made at the end: one due here is replaced too
      return false;
    }
    if (st.isDirectory() && keepDirectory) return true;
    rmSync(this.abs(rel), { recursive: st.isDirectory(), force: true });
    this.forget(rel, st.isDirectory());
    return false;
  }

  /** chown through `apply`; an id outside the user namespace's map gets a message that says so. */
  private own(rel: string, meta: Meta, apply: (uid: number, gid: number) => void): void {
    if (this.options.squashOwnership) return;
    try {
      apply(meta.uid, meta.gid);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
      throw new LayerEntryError(
        `entry "${rel}" is owned by ${meta.uid}:${meta.gid}, which the user namespace does not map ` +
          '(give your user a larger range in /etc/subuid and /etc/subgid)',
      );
    }
  }

  /** The entry's xattrs from its PAX records as bytes (`raw`: binary values such as security.capability). */
  private recordXattrs(rel: string, raw: Map<string, Buffer> | undefined): void {
    const found: LayerXattr[] = [];
    for (const [key, value] of raw ?? []) {
      if (!key.startsWith(XATTR_PAX_PREFIX)) continue;
      const name = key.slice(XATTR_PAX_PREFIX.length);
      if (!isReservedXattr(name)) found.push({ path: rel, name, value: value.toString('hex') });
    }
    if (found.length) this.xattrs.set(rel, found);
    else this.xattrs.delete(rel);
  }

  async entry(header: tar.Header, body: Readable, rawPax?: Map<string, Buffer>): Promise<void> {
    const rel = entryPath(header.name);
    const kind = entryKind(header as { name: string; type?: string | null; pax?: Record<string, string> | null });
    const whiteout = classifyWhiteout(rel);
    if (whiteout.kind === 'opaque') {
      this.checkParents(rel, header.name, true); // the opaque directory itself among them
      this.opaque.add(whiteout.dir);
      return;
    }
    if (whiteout.kind === 'whiteout') {
      this.checkParents(whiteout.target, header.name, true);
      this.clear(whiteout.target, false);
      this.whiteouts.add(whiteout.target);
      return;
    }
    if (!rel) return; // the layer root itself: its metadata belongs to the layers below
    this.checkParents(rel, header.name, true);
    this.whiteouts.delete(rel); // a later entry at a whited-out path in the same layer wins
    const path = this.abs(rel);
    const meta = metaOf(header);
    switch (kind) {
      case 'directory':
        if (!this.clear(rel, true)) mkdirSync(path, { mode: 0o700 });
        this.realDirs.add(rel);
        this.dirs.set(rel, meta);
        this.recordXattrs(rel, rawPax);
        return;
      case 'file': {
        this.clear(rel, false);
        const fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
        try {
          const writer = new SparseWriter(fd);
          for await (const chunk of body) writer.write(chunk as Buffer);
          writer.end();
          this.own(rel, meta, (uid, gid) => fchownSync(fd, uid, gid));
          fchmodSync(fd, meta.mode); // after chown, which clears setuid and setgid
          futimesSync(fd, meta.mtime, meta.mtime);
        } finally {
          closeSync(fd);
        }
        this.recordXattrs(rel, rawPax);
        return;
      }
      case 'symlink':
        this.clear(rel, false);
        symlinkSync(header.linkname ?? '', path);
        this.own(rel, meta, (uid, gid) => lchownSync(path, uid, gid));
        lutimesSync(path, meta.mtime, meta.mtime);
        return;
      case 'link': {
        const target = hardlinkTarget(header.name, header.linkname ?? '');
        const st = this.checkParents(target, header.name, false) ? lstatOrNull(this.abs(target)) : null;
        if (!st) throw new LayerEntryError(`hard link "${header.name}" points at "${header.linkname}", which is not in the layer`);
        if (st.isDirectory()) throw new LayerEntryError(`hard link "${header.name}" points at a directory`);
        if (target === rel) return;
        this.clear(rel, false);
        linkSync(this.abs(target), path); // link(2) does not follow a symlink target: it links the symlink
        return;
      }
      case 'fifo':
        this.clear(rel, false);
        this.fifos.set(rel, meta);
        return;
      case 'device':
        // A user namespace may not create device nodes (containers/storage skips them the same way).
        this.skippedDevices.push(rel);
        return;
    }
  }

  async finish(): Promise<ExtractResult> {
    const xattrs = [...this.xattrs.values()].flat();
    const ops: FsOp[] = [
      ...[...this.fifos].map(([rel, f]): FsOp => ({ op: 'fifo', path: this.abs(rel), mode: f.mode })),
      ...[...this.whiteouts].map((rel): FsOp => ({ op: 'whiteout', path: this.abs(rel) })),
      ...[...this.opaque].map((rel): FsOp => ({ op: 'xattr', path: this.abs(rel), name: OPAQUE_XATTR, value: Buffer.from('y') })),
      ...xattrs.map((x): FsOp => ({ op: 'xattr', path: this.abs(x.path), name: x.name, value: Buffer.from(x.value, 'hex') })),
    ];
    if (ops.length) await this.options.applyFsOps(ops);
    for (const [rel, f] of this.fifos) {
      this.checkParents(rel, rel, false);
      this.own(rel, f, (uid, gid) => lchownSync(this.abs(rel), uid, gid));
      lutimesSync(this.abs(rel), f.mtime, f.mtime);
    }
    // Deepest first (a descendant's path is longer): creating entries changed the parents' mtimes.
    for (const [rel, d] of [...this.dirs].sort((a, b) => b[0].length - a[0].length)) {
      this.checkParents(rel, rel, false);
      const fd = openSync(this.abs(rel), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      try {
        this.own(rel, d, (uid, gid) => fchownSync(fd, uid, gid));
        fchmodSync(fd, d.mode);
        futimesSync(fd, d.mtime, d.mtime);
      } finally {
        closeSync(fd);
      }
    }
    return { opaqueDirs: [...this.opaque], xattrs, skippedDevices: this.skippedDevices };
  }
}

/**
 * A system error while writing an entry, told by the entry's name rather than the path it was being written
 * to (a temp directory of the store, meaningless to the user): `entry "a…": name too long (ENAMETOOLONG)`.
 */
function entryFailure(name: string, error: unknown): unknown {
  const e = error as NodeJS.ErrnoException;
  if (error instanceof LayerEntryError || typeof e?.code !== 'string' || typeof e.syscall !== 'string') return error;
  const words = /^[A-Z0-9]+: ([^,]+)/.exec(e.message)?.[1] ?? e.code;
  const why = e.code === 'ENAMETOOLONG' ? 'a name in its path is longer than Linux allows (255 bytes)' : `${words} (${e.code})`;
  return new LayerEntryError(`entry "${abbreviate(name)}": ${why}`);
}

/** Extracts the (uncompressed) tar stream into options.root, which must exist and be empty. */
export async function extractLayer(tarStream: Readable, options: ExtractOptions): Promise<ExtractResult> {
  const extractor = new LayerExtractor(options);
  const extract = tar.extract();
  const rawPax = keepRawPaxRecords(extract);
  tarStream.on('error', (error) => extract.destroy(error));
  tarStream.pipe(extract);
  for await (const entry of extract) {
    try {
      await extractor.entry(entry.header, entry as unknown as Readable, entry.header.pax ? rawPax.get(entry.header.pax) : undefined);
    } catch (error) {
      throw entryFailure(entry.header.name, error);
    }
    entry.resume(); // drain whatever the entry did not read
  }
  return extractor.finish();
}
