/**
 * Runs as root of the user namespace: `node copy-worker.js DEST LAYER...` (layers bottom first) makes DEST
 * the merged view of the layers, as overlayfs would show it: whiteouts delete, opaque dirs hide what lies
 * below, and ownership, modes, times, hard links, FIFOs and xattrs are kept.
 * Every destination directory is checked with lstat before anything is written beneath it, so a symlink left
 * by a lower layer is replaced, never followed.
 */
import { promises as fs, constants } from 'node:fs';
import { join } from 'node:path';
import { applyFsOps, type FsOp } from '../runtime/fsops.js';
import type { LayerRecord } from './layer-format.js';

async function lstatOrNull(path: string) {
  try {
    return await fs.lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Makes `path` a real directory, removing whatever non-directory (or, when `empty`, contents) is there. */
async function ensureDirectory(path: string, empty: boolean): Promise<void> {
  const st = await lstatOrNull(path);
  if (st?.isDirectory()) {
    if (empty) for (const name of await fs.readdir(path)) await fs.rm(join(path, name), { recursive: true, force: true });
    return;
  }
  if (st) await fs.rm(path, { force: true });
  await fs.mkdir(path);
}

interface LayerCopy {
  src: string;
  dest: string;
  opaque: Set<string>;
  /** First destination path of each source inode, to rebuild hard links. */
  links: Map<string, string>;
  fifos: { path: string; uid: number; gid: number; mode: number; mtime: Date }[];
  dirs: { path: string; uid: number; gid: number; mode: number; atime: Date; mtime: Date }[];
}

async function copyEntry(layer: LayerCopy, rel: string): Promise<void> {
  const src = join(layer.src, rel);
  const dest = join(layer.dest, rel);
  const st = await fs.lstat(src);
  if (st.isCharacterDevice() && st.rdev === 0) {
    await fs.rm(dest, { recursive: true, force: true });
    return;
  }
  if (st.isDirectory()) {
    await ensureDirectory(dest, layer.opaque.has(rel));
    layer.dirs.push({ path: dest, uid: st.uid, gid: st.gid, mode: st.mode, atime: st.atime, mtime: st.mtime });
    for (const name of await fs.readdir(src)) await copyEntry(layer, rel ? `${rel}/${name}` : name);
    return;
  }
  const existing = await lstatOrNull(dest);
  if (existing) await fs.rm(dest, { recursive: true, force: true });
  const inode = `${st.dev}:${st.ino}`;
  if (st.nlink > 1 && layer.links.has(inode)) {
    await fs.link(layer.links.get(inode)!, dest);
    return;
  }
  if (st.isSymbolicLink()) {
    await fs.symlink(await fs.readlink(src), dest);
    await fs.lchown(dest, st.uid, st.gid);
    await fs.lutimes(dest, st.atime, st.mtime);
  } else if (st.isFile()) {
    // A reflink where the file system offers one; a plain copy otherwise.
    await fs.copyFile(src, dest, constants.COPYFILE_FICLONE);
    await fs.lchown(dest, st.uid, st.gid);
    await fs.chmod(dest, st.mode & 0o7777); // after chown, which clears setuid/setgid
    await fs.utimes(dest, st.atime, st.mtime);
  } else if (st.isFIFO()) {
    layer.fifos.push({ path: dest, uid: st.uid, gid: st.gid, mode: st.mode, mtime: st.mtime });
  } else {
    return; // sockets and devices are not carried by layers
  }
  if (st.nlink > 1) layer.links.set(inode, dest);
}

async function copyLayer(src: string, dest: string): Promise<void> {
  const record = JSON.parse(await fs.readFile(`${src}.json`, 'utf8')) as LayerRecord;
  const layer: LayerCopy = { src, dest, opaque: new Set(record.opaqueDirs), links: new Map(), fifos: [], dirs: [] };
  await copyEntry(layer, '');
  const ops: FsOp[] = [
    ...layer.fifos.map((f): FsOp => ({ op: 'fifo', path: f.path, mode: f.mode })),
    ...record.xattrs.map((x): FsOp => ({ op: 'xattr', path: join(dest, x.path), name: x.name, value: Buffer.from(x.value, 'hex') })),
  ];
  await applyFsOps(ops);
  for (const f of layer.fifos) {
    await fs.lchown(f.path, f.uid, f.gid);
    await fs.utimes(f.path, f.mtime, f.mtime);
  }
  // Directories last, deepest first: writing their children changed their mtimes.
  for (const d of layer.dirs.reverse()) {
    await fs.lchown(d.path, d.uid, d.gid);
    await fs.chmod(d.path, d.mode & 0o7777);
    await fs.utimes(d.path, d.atime, d.mtime);
  }
}

const [dest, ...layers] = process.argv.slice(2);
try {
  await fs.mkdir(dest, { recursive: true });
  for (const layer of layers) await copyLayer(layer, dest);
} catch (error) {
  const e = error as NodeJS.ErrnoException;
  process.stderr.write(`copy of layers into ${dest} failed: ${e.syscall ?? ''} ${e.path ?? ''}: ${e.code ?? e.message}\n`);
  process.exit(1);
}
