/**
 * `devbox cp`, with `docker cp`'s rules for where things land (moby/go-archive copy.go: a file onto a file
 * replaces it, into a directory keeps its name, a directory onto a missing path takes that name, `dir/.`
 * copies the contents) and its errors. The container's side is the helper's --archive (runtime/archive.ts),
 * inside the container's root; the host's side is host-tar.ts, as the user running devbox.
 */
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, posix, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ARCHIVE_NOT_FOUND, ArchiveError, startArchive, statInContainer, type ArchiveTarget } from '../runtime/archive.js';
import { DevboxError, describeError } from '../util/errors.js';
import { extractToHost, packHostPath } from './host-tar.js';

/** What the copy needs of a container. */
export interface CopyContainer {
  /** As the user wrote it, for messages. */
  ref: string;
  target: ArchiveTarget;
  /** Its user (--user or the image's USER), whom `cp -a` gives the files to. */
  user: { uid: number; gid: number };
}

export interface CopyOptions {
  /** -L: follow a symlink that SRC_PATH names. */
  followLink: boolean;
  /** -a: files copied in belong to the container's user instead of its root. */
  archive: boolean;
}

/** CONTAINER:PATH or a local path; a local path with a colon must start with / or ./ (docker's rule). */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  const colon = arg.indexOf(':');
  return colon < 0 ? { path: arg } : { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

const assertsDirectory = (path: string) => path.endsWith('/') || path === '.' || path.endsWith('/.');

/** A container path made absolute, keeping a trailing `/` or `/.` (they mean "a directory", "its contents"). */
function containerPath(path: string): string {
  const clean = posix.normalize(`/${path}`);
  if (path.endsWith('/.') || path === '.') return clean === '/' ? '/.' : `${clean.replace(/\/$/, '')}/.`;
  return path.endsWith('/') && clean !== '/' ? `${clean.replace(/\/$/, '')}/` : clean;
}

/** The last element a copy of `path` is named by: `.` for `dir/.`, else its basename. */
function baseOf(path: string): string {
  if (path.endsWith('/.')) return '.';
  const base = posix.basename(path.replace(/\/+$/, ''));
  return base || '.';
}

const notFound = (path: string, container: CopyContainer) => new DevboxError(`could not find the file ${path} in container ${container.ref}`);

function hostPath(path: string): string {
  const absolute = resolve(path);
  return path.endsWith('/.') ? `${absolute}/.` : path.endsWith('/') && absolute !== '/' ? `${absolute}/` : absolute;
}

interface Destination {
  path: string;
  exists: boolean;
  isDir: boolean;
}

/** Where a copy lands: moby's PrepareArchiveCopy. Returns the directory to extract into and the rename of the top entry. */
function prepareCopy(source: { path: string; isDir: boolean }, dest: Destination): { dir: string; from: string; to: string } {
  const srcBase = baseOf(source.path);
  const dstBase = baseOf(dest.path);
  const parent = posix.dirname(dest.path.replace(/\/\.?$/, '') || '/');
  if (dest.exists && dest.isDir) return { dir: dest.path, from: srcBase, to: srcBase };
  if (dest.exists && source.isDir) throw new DevboxError(`cannot copy directory ${source.path} to ${dest.path}: it exists and is not a directory`);
  if (!dest.exists && !source.isDir && assertsDirectory(dest.path)) {
    throw new DevboxError(`no such directory: ${dest.path}`, { fix: 'the destination directory must exist' });
  }
  return { dir: parent, from: srcBase, to: dstBase };
}

/** `devbox cp CONTAINER:SRC DST|-`. */
export async function copyFromContainer(container: CopyContainer, src: string, dst: string, options: CopyOptions, stdout: Writable): Promise<void> {
  const path = containerPath(src);
  const name = baseOf(path) === '.' && path === '/.' ? '.' : baseOf(path);
  const lookup = await statInContainer(container.target, path.replace(/\/\.$/, '') || '/');
  const found = options.followLink && lookup.entry?.linkTarget !== undefined ? lookup.resolved : lookup.entry;
  if (!found) throw notFound(src, container);
  const isDir = (found.mode & 0o170000) === 0o040000;
  if (assertsDirectory(path) && !isDir) throw new DevboxError(`${src} in container ${container.ref} is not a directory`);
  // Where it goes on the host is settled before anything is read from the container.
  const landing = dst === '-' ? undefined : prepareCopy({ path, isDir }, hostDestination(hostPath(dst)));
  const helper = startArchive(container.target, { op: 'get', path: path.replace(/\/\.$/, '') || '/', name, follow: options.followLink, oneFileSystem: false });
  helper.stdin.end();
  try {
    if (!landing) await Promise.all([pipeline(helper.stdout, stdout, { end: false }), helper.done]);
    else await Promise.all([extractToHost(helper.stdout, landing.dir, { from: landing.from, to: landing.to }), helper.done]);
  } catch (error) {
    helper.stdout.destroy();
    await helper.done.catch(() => {});
    if (error instanceof ArchiveError) throw error.status === ARCHIVE_NOT_FOUND ? notFound(src, container) : new DevboxError(error.message);
    throw error;
  }
}

/** The host destination, symlinks followed (a missing last element is fine when its parent is a directory). */
function hostDestination(path: string): Destination {
  const stats = statSync(path.replace(/\/\.?$/, '') || '/', { throwIfNoEntry: false });
  if (stats) return { path: stats.isDirectory() ? realpathSync(path) : path, exists: true, isDir: stats.isDirectory() };
  const parent = dirname(path.replace(/\/\.?$/, ''));
  const parentStats = statSync(parent, { throwIfNoEntry: false });
  if (!parentStats) throw new DevboxError(`${parent}: no such file or directory`, { fix: 'the destination directory must exist' });
  if (!parentStats.isDirectory()) throw new DevboxError(`${parent}: not a directory`);
  return { path, exists: false, isDir: false };
}

/** `devbox cp SRC|- CONTAINER:DST`. */
export async function copyToContainer(container: CopyContainer, src: string, dst: string, options: CopyOptions, stdin: Readable): Promise<void> {
  let dest: Destination = { path: containerPath(dst), exists: false, isDir: false };
  const lookup = await statInContainer(container.target, dest.path.replace(/\/\.?$/, '') || '/');
  if (lookup.entry?.linkTarget !== undefined) {
    const link = lookup.entry.linkTarget;
    const linked = link.startsWith('/') ? link : posix.join(posix.dirname(dest.path.replace(/\/\.?$/, '')), link);
    dest = { path: posix.normalize(linked), exists: lookup.resolved !== undefined, isDir: ((lookup.resolved?.mode ?? 0) & 0o170000) === 0o040000 };
  } else if (lookup.entry) dest = { ...dest, exists: true, isDir: (lookup.entry.mode & 0o170000) === 0o040000 };
  const kind = (lookup.resolved ?? lookup.entry)?.mode ?? 0;
  if (dest.exists && !dest.isDir && (kind & 0o170000) !== 0o100000) {
    throw new DevboxError(`destination "${container.ref}:${dst}" must be a directory or a regular file`);
  }
  const owner = options.archive ? container.user : { uid: 0, gid: 0 };
  let dir: string;
  let content: Readable;
  if (src === '-') {
    if (!dest.isDir) throw new DevboxError(`destination "${container.ref}:${dst}" must be a directory`);
    dir = dest.path;
    content = stdin;
  } else {
    let source = hostPath(src);
    let name = baseOf(source);
    try {
      if (options.followLink && lstatSync(source.replace(/\/\.?$/, '')).isSymbolicLink()) source = realpathSync(source);
    } catch (error) {
      throw new DevboxError(`cannot copy ${src}: ${describeError(error)}`);
    }
    const stats = lstatSync(source.replace(/\/\.?$/, '') || '/', { throwIfNoEntry: false });
    if (!stats) throw new DevboxError(`${src}: no such file or directory`);
    if (assertsDirectory(src) && !stats.isDirectory()) throw new DevboxError(`${src}: not a directory`);
    const prepared = prepareCopy({ path: name === '.' ? `${source.replace(/\/\.$/, '')}/.` : source, isDir: stats.isDirectory() }, dest);
    dir = prepared.dir;
    name = prepared.to === '.' && !dest.isDir ? basename(source) : prepared.to;
    content = packHostPath(source.replace(/\/\.$/, '') || '/', name);
  }
  const helper = startArchive(container.target, { op: 'put', path: dir, uid: owner.uid, gid: owner.gid });
  helper.stdout.resume();
  try {
    await Promise.all([pipeline(content, helper.stdin), helper.done]);
  } catch (error) {
    await helper.done.catch(() => {});
    if (error instanceof ArchiveError) {
      if (/No such file or directory$/.test(error.message) && error.message.startsWith(`${dir}:`)) throw notFound(dir, container);
      throw new DevboxError(error.message);
    }
    throw error;
  }
}
