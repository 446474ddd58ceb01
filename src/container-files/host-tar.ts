/**
 * The host's side of `devbox cp`: a host path as a tar (what goes into a container), and a tar from a
 * container extracted under a host directory, as the user running devbox (ownership is theirs, as with
 * `docker cp`). The tar from a container is the container's content: names are confined to the destination
 * (image/tar-paths.ts), nothing is written through a symlink this extraction made, existing files are replaced,
 * never opened through a link, and a directory is never replaced by a file or back (Docker's rule).
 */
import {
  createReadStream,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  linkSync,
  utimesSync,
  chmodSync,
  lutimesSync,
  type Stats,
} from 'node:fs';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { entryPath, hardlinkTarget } from '../image/tar-paths.js';
import { DevboxError } from '../util/errors.js';

/** A host path as a tar whose top entry is `name` (Docker's rebase), symlinks kept as symlinks below it. */
export function packHostPath(path: string, name: string): Readable {
  const pack = tar.pack();
  const links = new Map<string, string>();
  const add = async (hostPath: string, entry: string, stats: Stats): Promise<void> => {
    const base = { name: entry, mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, mtime: stats.mtime };
    if (stats.isDirectory()) {
      await addEntry(pack, { ...base, name: `${entry}/`, type: 'directory' });
      for (const child of readdirSync(hostPath).sort()) await add(join(hostPath, child), `${entry}/${child}`, lstatSync(join(hostPath, child)));
    } else if (stats.isSymbolicLink()) {
      await addEntry(pack, { ...base, type: 'symlink', linkname: readlinkSync(hostPath) });
    } else if (stats.isFIFO()) {
      await addEntry(pack, { ...base, type: 'fifo' });
    } else if (stats.isFile()) {
      const inode = `${stats.dev}:${stats.ino}`;
      if (stats.nlink > 1 && links.has(inode)) {
        await addEntry(pack, { ...base, type: 'link', linkname: links.get(inode) });
        return;
      }
      if (stats.nlink > 1) links.set(inode, entry);
      await pipeline(createReadStream(hostPath), pack.entry({ ...base, type: 'file', size: stats.size }));
    }
    // sockets and devices are left out, as by Docker
  };
  add(path, name, lstatSync(path)).then(
    () => pack.finalize(),
    (error) => pack.destroy(new DevboxError(`cannot read ${path}: ${(error as Error).message}`)),
  );
  return pack as unknown as Readable;
}

function addEntry(pack: tar.Pack, header: Partial<tar.Header> & { name: string }): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, '', (error) => (error ? reject(error) : resolve())));
}

/** Rewrites the first path element `from` of every entry (and hard link target) to `to`: Docker's RebaseArchiveEntries. */
export function rebaseName(name: string, from: string, to: string): string {
  if (from === to) return name;
  if (name === from || name === `${from}/`) return name.replace(from, to);
  return name.startsWith(`${from}/`) ? `${to}${name.slice(from.length)}` : name;
}

/**
 * Extracts a tar from a container into `dir` (which exists), the first path element of each entry rebased
 * from `from` to `to` when they differ. Returns what the top entry was.
 */
export async function extractToHost(stream: Readable, dir: string, rebase?: { from: string; to: string }): Promise<void> {
  const extract = tar.extract();
  /** Paths (relative) this extraction made as real directories: only through those is anything written. */
  const made = new Set<string>(['']);
  const dirTimes: [string, Date][] = [];
  const checkParents = (rel: string) => {
    const parts = rel.split('/');
    let prefix = '';
    for (const part of parts.slice(0, -1)) {
      prefix = prefix ? `${prefix}/${part}` : part;
      if (made.has(prefix)) continue;
      const st = lstatSync(join(dir, prefix), { throwIfNoEntry: false });
      if (!st?.isDirectory()) throw new DevboxError(`cannot copy "${rel}": ${prefix} is not a directory in the destination`);
      made.add(prefix);
    }
  };
  extract.on('entry', (header, body, next) => {
    const done = (error?: unknown) => {
      body.resume();
      next(error as Error | undefined);
    };
    try {
      const rel = entryPath(rebase ? rebaseName(header.name, rebase.from, rebase.to) : header.name);
      if (!rel) return done(); // "./": the destination itself
      checkParents(rel);
      const path = join(dir, rel);
      const existing = lstatSync(path, { throwIfNoEntry: false });
      const isDir = header.type === 'directory';
      if (existing?.isDirectory() && !isDir) throw new DevboxError(`cannot overwrite directory "${path}" with non-directory "${rel}"`);
      if (existing && !existing.isDirectory() && isDir) throw new DevboxError(`cannot overwrite non-directory "${path}" with directory "${rel}"`);
      if (existing && !existing.isDirectory()) rmSync(path);
      const mode = (header.mode ?? 0o644) & 0o7777;
      const mtime = header.mtime ?? new Date();
      switch (header.type) {
        case 'directory':
          if (!existing) mkdirSync(path, { mode: 0o700 });
          chmodSync(path, mode | 0o700); // the owner must be able to write into it until the end
          made.add(rel);
          dirTimes.push([path, mtime]);
          dirModes.push([path, mode]);
          return done();
        case 'symlink':
          symlinkSync(header.linkname ?? '', path);
          lutimesSync(path, mtime, mtime);
          return done();
        case 'link': {
          const target = hardlinkTarget(rel, rebase ? rebaseName(header.linkname ?? '', rebase.from, rebase.to) : (header.linkname ?? ''));
          checkParents(target);
          linkSync(join(dir, target), path);
          return done();
        }
        case 'file':
        case 'contiguous-file': {
          const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
          pipeline(body, out).then(() => {
            chmodSync(path, mode);
            utimesSync(path, mtime, mtime);
            next();
          }, next);
          return;
        }
        default:
          return done(); // FIFOs and devices: `docker cp` to the host makes none either as a user
      }
    } catch (error) {
      done(error);
    }
  });
  const dirModes: [string, number][] = [];
  await pipeline(stream, extract);
  for (const [path, mode] of dirModes.reverse()) chmodSync(path, mode);
  for (const [path, mtime] of dirTimes.reverse()) utimesSync(path, mtime, mtime);
}
