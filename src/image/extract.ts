/**
 * Extracts one layer tar into an empty directory, turning OCI whiteouts into the storage layer format: what
 * a build's ADD of a local tar uses (builder/fs-actions.ts, inside the build's worker). Image layers are
 * unpacked by the helper's extractor (native/layer.c, image/unpack.ts), which follows the same rules.
 * Runs as root of the user namespace, so tar ownership lands in the mapped range. The tar is hostile until
 * proven otherwise:
 * - names are confined to the layer (tar-paths.ts), and no entry is written through a symlink: every parent
 *   must be a directory this layer made (see made), or a real directory found there (see foreign);
 * - whatever is at an entry's path is removed first, and files are created O_EXCL, so no existing link is
 *   ever opened; hard link targets must already be in the layer and are reached only through directories;
 * - metadata applied at the end (directories, FIFOs) goes through O_NOFOLLOW or l* calls, and anything
 *   removed meanwhile is forgotten first: a directory later replaced by a symlink must not have its mode
 *   applied to the symlink's target (containerd CVE-2021-32760 was that chmod).
 * File-system calls are synchronous: this runs in a worker process of its own, and a thread-pool round trip
 * per call would make unpacking several times slower. Per file it costs an open (mode included), the writes,
 * a futimes and a close: chown only for ids other than the extractor's own, chmod only for bits that creation
 * cannot set (setuid, setgid, sticky, or masked by the umask); no lstat, since the extractor knows what it made.
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
  statSync,
  symlinkSync,
  unlinkSync,
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

/** What the extractor made at a path other than a directory (a hard link is what its target is). */
type Made = 'file' | 'symlink';

/** Mode bits that open(2) and mkdir(2) do not set as asked: the special bits, and what the umask takes. */
const umask = process.umask();
const needsChmod = (mode: number) => (mode & (0o7000 | umask)) !== 0;

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
   * What is in the root: it starts empty and only this extractor writes it, every removal going through
   * clear(), which forgets what it removed. So what it made is what is there, and no entry needs an lstat
   * of its path or its parents (on ext4 a lookup that misses costs as much as creating the file). FIFOs are
   * not in it: they are made at the end (see fifos).
   */
  private readonly realDirs = new Set<string>();
  private readonly made = new Map<string, Made>();
  private readonly skippedDevices: string[] = [];
  /**
   * The ids a file made here gets without a chown: the process's, unless the root is setgid (then every
   * directory made below it is, and passes its group on). Only other ids need a chown.
   */
  private readonly uid: number;
  private readonly gid: number;

  constructor(private readonly options: ExtractOptions) {
    this.uid = process.geteuid?.() ?? 0;
    this.gid = statSync(options.root).mode & 0o2000 ? -1 : (process.getegid?.() ?? 0);
  }

  private abs(rel: string): string {
    return rel ? join(this.options.root, rel) : this.options.root;
  }

  /** Pending work for `rel` (and, when a directory went, everything below it) is void. */
  private forget(rel: string, subtree: boolean): void {
    for (const pending of [this.dirs, this.fifos, this.xattrs, this.whiteouts, this.opaque, this.realDirs, this.made]) {
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
      const made = this.made.get(parent);
      if (made === 'symlink') throw new LayerEntryError(`entry "${entry}" passes through the symlink "${parent}"`);
      if (made || this.fifos.has(parent)) throw new LayerEntryError(`entry "${entry}" passes through "${parent}", which is not a directory`);
      if (!create) return false;
      if (!this.makeDirectory(parent, 0o755)) {
        // Not made by this layer (see foreign): used only if it is a real directory.
        const st = lstatSync(this.abs(parent));
        if (st.isSymbolicLink()) throw new LayerEntryError(`entry "${entry}" passes through the symlink "${parent}"`);
        if (!st.isDirectory()) throw new LayerEntryError(`entry "${entry}" passes through "${parent}", which is not a directory`);
      }
      this.whiteouts.delete(parent); // a directory made in this layer is no longer deleted by it
      this.realDirs.add(parent);
    }
    return true;
  }

  /** mkdir; false when something is already there, which only a root that was not empty can explain. */
  private makeDirectory(rel: string, mode: number): boolean {
    try {
      mkdirSync(this.abs(rel), { mode });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return false;
    }
  }

  /**
   * Makes an entry with `make`, which fails with EEXIST rather than use what is there. The root should be
   * empty, so nothing should be; if something is after all (a root that was not), it is removed, never
   * followed, and the entry made again.
   */
  private foreign<T>(rel: string, make: () => T): T {
    try {
      return make();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      rmSync(this.abs(rel), { recursive: true, force: true });
      return make();
    }
  }

  /** Removes whatever is at rel, unless it is a directory and a directory is wanted there (true then). */
  private clear(rel: string, keepDirectory: boolean): boolean {
    if (this.realDirs.has(rel)) {
      if (keepDirectory) return true;
      rmSync(this.abs(rel), { recursive: true, force: true });
      this.forget(rel, true);
      return false;
    }
    if (this.made.has(rel)) {
      unlinkSync(this.abs(rel));
      this.forget(rel, false);
      return false;
    }
    this.fifos.delete(rel); // FIFOs are made at the end: one due here is replaced too
    return false;
  }

  /**
   * chown through `apply` (unless the ids are already those of what this process makes, or `always`: FIFOs
   * are made by the helper); an id outside the user namespace's map gets a message that says so. True when
   * it chowned.
   */
  private own(rel: string, meta: Meta, apply: (uid: number, gid: number) => void, always = false): boolean {
    if (this.options.squashOwnership || (!always && meta.uid === this.uid && meta.gid === this.gid)) return false;
    try {
      apply(meta.uid, meta.gid);
      return true;
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
        if (!this.clear(rel, true)) this.foreign(rel, () => mkdirSync(path, { mode: 0o700 }));
        this.realDirs.add(rel);
        this.dirs.set(rel, meta);
        this.recordXattrs(rel, rawPax);
        return;
      case 'file': {
        this.clear(rel, false);
        const fd = this.foreign(rel, () => openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, meta.mode & 0o777));
        this.made.set(rel, 'file');
        try {
          const writer = new SparseWriter(fd);
          for await (const chunk of body) writer.write(chunk as Buffer);
          writer.end();
          const chowned = this.own(rel, meta, (uid, gid) => fchownSync(fd, uid, gid));
          if (chowned || needsChmod(meta.mode)) fchmodSync(fd, meta.mode); // after chown, which clears setuid and setgid
          futimesSync(fd, meta.mtime, meta.mtime);
        } finally {
          closeSync(fd);
        }
        this.recordXattrs(rel, rawPax);
        return;
      }
      case 'symlink':
        this.clear(rel, false);
        this.foreign(rel, () => symlinkSync(header.linkname ?? '', path));
        this.made.set(rel, 'symlink');
        this.own(rel, meta, (uid, gid) => lchownSync(path, uid, gid));
        lutimesSync(path, meta.mtime, meta.mtime);
        return;
      case 'link': {
        const target = hardlinkTarget(header.name, header.linkname ?? '');
        const found = this.checkParents(target, header.name, false);
        if (found && (target === '' || this.realDirs.has(target))) throw new LayerEntryError(`hard link "${header.name}" points at a directory`);
        const made = found ? this.made.get(target) : undefined;
        if (!made) throw new LayerEntryError(`hard link "${header.name}" points at "${header.linkname}", which is not in the layer`);
        if (target === rel) return;
        this.clear(rel, false);
        this.foreign(rel, () => linkSync(this.abs(target), path)); // link(2) does not follow a symlink target: it links the symlink
        this.made.set(rel, made);
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
      this.own(rel, f, (uid, gid) => lchownSync(this.abs(rel), uid, gid), true);
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
