/**
 * COPY, ADD and WORKDIR as changes written into a staging directory that becomes the step's layer. Runs as
 * root of the user namespace (layer-worker.ts). The image's current file system is read through a LayerView
 * of its layers with the staging directory on top, so later sources see earlier ones and destinations are
 * resolved the way Docker resolves them: symlinks in the destination followed inside the image, never out.
 * Nothing is written outside the staging directory: every parent in it is checked with lstat and must be a
 * directory this code made, files are created O_EXCL|O_NOFOLLOW, and sources are opened O_NOFOLLOW.
 * A file copied as it is from a layer in the store (COPY --from, keeping owner and mode) is a hard link of the
 * layer's file instead of a copy: unpacked layers are never written to (an overlay copies a file up before a
 * change), so the two layers can share it, and a large tree costs no copy. A file from a layer or an ADD
 * archive keeps its xattrs (a file capability, as BuildKit's copy keeps them), linked or copied; a file from
 * the build context gets none of the host's.
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
  readlinkSync,
  readSync,
  rmSync,
  symlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { posix } from 'node:path';
import { join } from 'node:path';
import type { FsOp } from '../runtime/fsops.js';
import { isReservedXattr } from '../storage/layer-format.js';
import { extractArchive } from '../image/unpack.js';
import type { IdMapping } from '../userns/idmap.js';
import { openTarArchive } from './archive.js';
import { ignoreRules } from './context.js';
import { cleanPath, LayerView } from '../image/layer-view.js';
import { hasWildcards, matchSources, walkTree, type SourceMatch } from './sources.js';
import { StepError } from './step-error.js';

export interface Owner {
  uid: number;
  gid: number;
}

export type FsAction =
  | {
      kind: 'copy';
      /** Layer directories (bottom first) or a plain directory (the build context) to copy from. */
      sourceLayers: string[];
      /** .dockerignore patterns that apply (build context sources only). */
      ignore?: string[];
      sources: string[];
      /** Absolute path in the image; a trailing slash means a directory. */
      dest: string;
      /** --chown; without it context files belong to root and files from a stage keep their owner. */
      owner?: Owner;
      keepOwner: boolean;
      /** --chmod */
      mode?: number;
      /** ADD: a source that is a tar archive is extracted at the destination. */
      unpack?: boolean;
      /** One of several sources of the instruction (the destination must then be a directory). */
      multiple?: boolean;
      /**
       * The sources are layers in the store on the staging directory's file system (never the context): their
       * files may be hard links, and keep their xattrs.
       */
      linkable?: boolean;
    }
  | { kind: 'write'; dest: string; content: string; owner?: Owner; mode?: number }
  | { kind: 'mkdir'; path: string; owner: Owner };

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = constants;

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** Reads the xattrs of files (absolute paths), batched: the runtime's readXattrs. */
export type XattrLister = (paths: readonly string[]) => Promise<Map<string, { name: string; value: Buffer }[]>>;

function copyContent(from: string, to: number): void {
  const source = openSync(from, O_RDONLY | O_NOFOLLOW);
  try {
    const buffer = Buffer.alloc(1 << 20);
    for (let n = readSync(source, buffer); n > 0; n = readSync(source, buffer)) {
      for (let off = 0; off < n; ) off += writeSync(to, buffer, off, n - off);
    }
  } finally {
    closeSync(source);
  }
}

export class StagingWriter {
  /** The image as it is before this step (to copy directory metadata up from). */
  private readonly below: LayerView;
  /** The image with what this step wrote so far on top. */
  private readonly view: LayerView;
  /** Directories written, with the metadata to set once their contents are in place. */
  private readonly dirs = new Map<string, { uid: number; gid: number; mode: number; mtime: Date }>();
  /** Source inode → path written, to keep hard links. */
  private readonly links = new Map<string, string>();
  /** Files that are hard links of a source layer's files, with where they came from. */
  private readonly linkedFiles = new Map<string, { hostPath: string; stats: Stats }>();
  /** Files copied from a layer (or an ADD archive), with where they came from: their xattrs come along at the end. */
  private readonly copiedFiles = new Map<string, { hostPath: string; stats: Stats }>();
  /** FIFOs, made at the end through the helper (Node.js has no mkfifo). */
  private readonly fifos: { rel: string; mode: number; owner: Owner }[] = [];

  /** Archives extracted so far (each into a directory of its own under `scratch`). */
  private extracted = 0;

  constructor(
    lowerDirs: readonly string[],
    private readonly staging: string,
    /** A directory for work that is not part of the layer (extracted archives). */
    private readonly scratch: string,
    private readonly applyFsOps: (ops: FsOp[]) => Promise<void>,
    private readonly readXattrs: XattrLister,
    /** The map of the user namespace this process is root of (archives are extracted in one nested in it). */
    private readonly mapping: IdMapping,
  ) {
    this.below = LayerView.ofLayerDirs(lowerDirs);
    this.view = this.below.with(staging);
  }

  private abs(rel: string): string {
    return join(this.staging, rel);
  }

  /** Makes `rel` a directory in the staging area: copied up from the image, or new with `owner`. */
  ensureDir(rel: string, owner: Owner, mode = 0o755): void {
    let prefix = '';
    for (const part of rel ? rel.split('/') : []) {
      prefix = prefix ? `${prefix}/${part}` : part;
      const st = lstatOrUndefined(this.abs(prefix));
      if (st) {
        if (!st.isDirectory()) throw new StepError(`cannot copy to "/${prefix}": it is not a directory`);
        continue;
      }
      const existing = this.below.lookup(prefix);
      if (existing && !existing.stats.isDirectory()) throw new StepError(`cannot copy to "/${rel}": "/${prefix}" is not a directory`);
      mkdirSync(this.abs(prefix), { mode: 0o700 });
      const meta = existing
        ? { uid: existing.stats.uid, gid: existing.stats.gid, mode: existing.stats.mode & 0o7777, mtime: existing.stats.mtime }
        : { ...owner, mode, mtime: new Date() };
      this.dirs.set(prefix, meta);
    }
  }

  /** Removes what an earlier source of this step put at `rel`, so the new entry replaces it. */
  private clear(rel: string): void {
    const st = lstatOrUndefined(this.abs(rel));
    if (!st) return;
    if (st.isDirectory()) throw new StepError(`cannot overwrite directory "/${rel}" with a non-directory`);
    rmSync(this.abs(rel));
    // What replaces it is recorded anew: the xattrs of what was there must not land on it.
    this.linkedFiles.delete(rel);
    this.copiedFiles.delete(rel);
  }

  /** A file `source` as it is (owner, mode) at `path`, as a hard link of it; false when the file system refuses. */
  private link(rel: string, source: { stats: Stats; hostPath: string }): boolean {
    try {
      linkSync(source.hostPath, this.abs(rel));
    } catch {
      return false; // another file system, too many links, or not ours to link (protected_hardlinks): copy it
    }
    this.linkedFiles.set(rel, source);
    return true;
  }

  /** Writes one source entry (not a directory) at `rel`, whose parent exists in the staging area. */
  private writeEntry(rel: string, source: { stats: Stats; hostPath: string }, owner: Owner, mode: number | undefined, linkable = false): void {
    const st = source.stats;
    if (this.view.lookup(rel)?.stats.isDirectory()) throw new StepError(`cannot overwrite directory "/${rel}" with a non-directory`);
    this.clear(rel);
    const path = this.abs(rel);
    const inode = `${st.dev}:${st.ino}`;
    if (st.nlink > 1 && this.links.has(inode)) {
      const first = this.links.get(inode)!;
      linkSync(this.abs(first), path);
      if (this.linkedFiles.has(first)) this.linkedFiles.set(rel, source);
      return;
    }
    if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(source.hostPath), path);
      lchownSync(path, owner.uid, owner.gid);
      lutimesSync(path, st.mtime, st.mtime);
    } else if (st.isFile()) {
      const asItIs = linkable && mode === undefined && owner.uid === st.uid && owner.gid === st.gid;
      if (!asItIs || !this.link(rel, source)) {
        this.copyFile(path, source, owner, mode);
        if (linkable) this.copiedFiles.set(rel, source);
      }
    } else if (st.isFIFO()) {
      this.fifos.push({ rel, mode: mode ?? st.mode & 0o7777, owner });
      return;
    } else {
      return; // sockets and devices are not copied
    }
    if (st.nlink > 1) this.links.set(inode, rel);
  }

  private copyFile(path: string, source: { stats: Stats; hostPath: string }, owner: Owner, mode: number | undefined): void {
    const st = source.stats;
    const fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      copyContent(source.hostPath, fd);
      fchownSync(fd, owner.uid, owner.gid);
      fchmodSync(fd, mode ?? st.mode & 0o7777); // after chown, which clears setuid/setgid
      futimesSync(fd, st.mtime, st.mtime);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The xattrs of the files copied from layers, set last (a chown clears a file capability). A linked file
   * has its source's already; one with overlay bookkeeping among them (a RUN's upper directory taken as its
   * layer keeps its inode marks), which no layer may carry, becomes a copy, and other names of the same file
   * links of that copy.
   */
  private async carryXattrs(): Promise<void> {
    const sources = [...this.linkedFiles.values(), ...this.copiedFiles.values()].map((s) => s.hostPath);
    if (!sources.length) return;
    const xattrs = await this.readXattrs(sources);
    if (!xattrs.size) return;
    const copies = new Map<string, string>();
    for (const [rel, source] of this.linkedFiles) {
      if (!(xattrs.get(source.hostPath) ?? []).some((x) => isReservedXattr(x.name))) continue;
      const inode = `${source.stats.dev}:${source.stats.ino}`;
      rmSync(this.abs(rel));
      const copy = copies.get(inode);
      if (copy !== undefined) linkSync(this.abs(copy), this.abs(rel));
      else {
        this.copyFile(this.abs(rel), source, { uid: source.stats.uid, gid: source.stats.gid }, undefined);
        this.copiedFiles.set(rel, source);
        copies.set(inode, rel);
      }
    }
    const ops: FsOp[] = [];
    for (const [rel, source] of this.copiedFiles)
      for (const { name, value } of xattrs.get(source.hostPath) ?? []) if (!isReservedXattr(name)) ops.push({ op: 'xattr', path: this.abs(rel), name, value });
    await this.applyFsOps(ops);
  }

  /** A source directory's contents into directory `destRel`. */
  private copyTree(
    view: LayerView,
    match: SourceMatch,
    ignore: ReturnType<typeof ignoreRules> | undefined,
    destRel: string,
    owner: (st: Stats) => Owner,
    mode: number | undefined,
    linkable = false,
  ): void {
    for (const entry of walkTree(view, match.rel, ignore)) {
      const rel = destRel ? `${destRel}/${entry.rel}` : entry.rel;
      if (entry.stats.isDirectory()) {
        const existing = lstatOrUndefined(this.abs(rel));
        if (existing && !existing.isDirectory()) this.clear(rel);
        const o = owner(entry.stats);
        const st = entry.stats;
        if (!existing && !this.below.lookup(rel)?.stats.isDirectory()) {
          this.ensureDir(posix.dirname(rel) === '.' ? '' : posix.dirname(rel), o);
          mkdirSync(this.abs(rel), { mode: 0o700 });
          this.dirs.set(rel, { ...o, mode: mode ?? st.mode & 0o7777, mtime: st.mtime });
        } else this.ensureDir(rel, o);
        continue;
      }
      this.writeEntry(rel, entry, owner(entry.stats), mode, linkable);
    }
  }

  /**
   * ADD of a tar archive: extracted by the helper's layer extractor, as image layers are (ownership from the
   * tar), into a directory of its own, then copied in.
   */
  private async unpack(archive: SourceMatch, destRel: string, owner: Owner | undefined, mode: number | undefined): Promise<boolean> {
    const tar = await openTarArchive(archive.hostPath);
    if (!tar) return false;
    const dir = join(this.scratch, `archive-${this.extracted++}`);
    mkdirSync(dir);
    await extractArchive(this.mapping, dir, tar, `"${archive.rel}"`);
    const view = new LayerView([{ dir, opaque: new Set() }]);
    const root = view.lookup('')!;
    this.ensureDir(destRel, owner ?? { uid: 0, gid: 0 });
    // Linkable: the extracted archive is a layer nothing writes to again, on the staging directory's file system.
    this.copyTree(view, { name: '', rel: '', ...root }, undefined, destRel, (st) => owner ?? { uid: st.uid, gid: st.gid }, mode, true);
    return true;
  }

  async copy(action: Extract<FsAction, { kind: 'copy' }>): Promise<void> {
    const sourceView = LayerView.ofLayerDirs(action.sourceLayers);
    const ignore = action.ignore?.length ? ignoreRules(action.ignore) : undefined;
    const root: Owner = { uid: 0, gid: 0 };
    const owner = (st: Stats): Owner => action.owner ?? (action.keepOwner ? { uid: st.uid, gid: st.gid } : root);
    const matches: SourceMatch[] = [];
    for (const source of action.sources) {
      const found = matchSources(sourceView, source, ignore);
      if (!found.length && !hasWildcards(source)) throw new StepError(`"${source}": no such file or directory`);
      matches.push(...found);
    }
    const destRel = this.view.resolve(cleanPath(action.dest), true);
    const destIsDir = action.dest.endsWith('/') || action.dest.endsWith('/.') || this.view.lookup(destRel)?.stats.isDirectory() === true;
    // Several sources need a directory; so does a wildcard, once it matches more than one file.
    const many = action.multiple || action.sources.length > 1 || matches.length > 1;
    if (many && !destIsDir) {
      throw new StepError(`when copying more than one source the destination must be a directory ending in /: "${action.dest}"`);
    }
    for (const match of matches) {
      if (match.stats.isDirectory()) {
        this.ensureDir(destRel, action.owner ?? root);
        this.copyTree(sourceView, match, ignore, destRel, owner, action.mode, action.linkable);
        continue;
      }
      if (action.unpack && (await this.unpack(match, destRel, action.owner, action.mode))) continue;
      const target = destIsDir ? (destRel ? `${destRel}/${match.name}` : match.name) : destRel;
      if (!target) throw new StepError(`cannot copy a file to "/"`);
      this.ensureDir(posix.dirname(target) === '.' ? '' : posix.dirname(target), action.owner ?? root);
      this.writeEntry(target, match, owner(match.stats), action.mode, action.linkable);
    }
  }

  /** A file with the given content (COPY <<EOF). */
  write(action: Extract<FsAction, { kind: 'write' }>): void {
    const target = this.view.resolve(cleanPath(action.dest), true);
    const owner = action.owner ?? { uid: 0, gid: 0 };
    if (!target || action.dest.endsWith('/') || this.view.lookup(target)?.stats.isDirectory()) throw new StepError(`"${action.dest}" is a directory`);
    this.ensureDir(posix.dirname(target) === '.' ? '' : posix.dirname(target), owner);
    this.clear(target);
    const fd = openSync(this.abs(target), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, action.content);
      fchownSync(fd, owner.uid, owner.gid);
      fchmodSync(fd, action.mode ?? 0o644);
    } finally {
      closeSync(fd);
    }
  }

  /** WORKDIR: the directory and missing parents, owned by the step's user. */
  mkdir(action: Extract<FsAction, { kind: 'mkdir' }>): void {
    const rel = this.view.resolve(cleanPath(action.path), true);
    if (this.view.lookup(rel)?.stats.isDirectory()) return;
    this.ensureDir(rel, action.owner);
  }

  async apply(action: FsAction): Promise<void> {
    if (action.kind === 'copy') await this.copy(action);
    else if (action.kind === 'write') this.write(action);
    else this.mkdir(action);
  }

  /** Carries the copied files' xattrs, makes the FIFOs, then sets directory ownership, modes and times, deepest first, once their contents are written. */
  async finish(): Promise<void> {
    await this.carryXattrs();
    await this.applyFsOps(this.fifos.map((f): FsOp => ({ op: 'fifo', path: this.abs(f.rel), mode: f.mode })));
    for (const f of this.fifos) lchownSync(this.abs(f.rel), f.owner.uid, f.owner.gid);
    for (const [rel, d] of [...this.dirs].sort((a, b) => b[0].length - a[0].length)) {
      const path = this.abs(rel);
      lchownSync(path, d.uid, d.gid);
      const fd = openSync(path, O_RDONLY | constants.O_DIRECTORY | O_NOFOLLOW);
      try {
        fchmodSync(fd, d.mode);
        futimesSync(fd, d.mtime, d.mtime);
      } finally {
        closeSync(fd);
      }
    }
  }
}
