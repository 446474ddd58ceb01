/**
 * Reading a file of an image from its unpacked layers, as the container would see it at that path: the
 * topmost layer that has it wins, whiteouts and opaque directories hide what lies below, and every symlink on
 * the way (/etc → /alt/etc, bin → usr/bin) is resolved inside the image (layer-view.ts), never on the host. An
 * image whose /etc links to a host folder therefore has no /etc/passwd here, as it has none inside.
 */
import { closeSync, constants, copyFileSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DevboxError } from '../util/errors.js';
import { LayerView, SymlinkLoopError, type ViewEntry } from './layer-view.js';

/** The regular file at `path` (relative to the image root), links followed inside the image; undefined when none. */
function findImageFile(layerDirs: readonly string[], path: string): ViewEntry | undefined {
  const view = LayerView.ofLayerDirs(layerDirs);
  try {
    const entry = view.lookup(view.resolve(path, true));
    return entry?.stats.isFile() ? entry : undefined;
  } catch (error) {
    if (error instanceof SymlinkLoopError) return undefined; // as inside: no file there
    if ((error as NodeJS.ErrnoException).code === 'EACCES') {
      throw new DevboxError(`cannot read /${path} of the image: a folder on its way is not readable by you on the host`, { cause: error });
    }
    throw error;
  }
}

/** The content of the image's file at `path` (relative to the image root); '' when it has none. */
export function readImageFile(layerDirs: readonly string[], path: string): string {
  const entry = findImageFile(layerDirs, path);
  if (!entry) return '';
  // The entry's folders are real directories of its layer (checked on the way); the file itself is opened
  // without following a link, so nothing swapped in meanwhile is followed either.
  const fd = openEntry(entry, path);
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** The entry's file, opened without following a link (its folders were checked on the way to it). */
function openEntry(entry: ViewEntry, path: string): number {
  try {
    return openSync(entry.hostPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    throw new DevboxError(`cannot read /${path} of the image: ${(error as NodeJS.ErrnoException).code}`, { cause: error });
  }
}

/** Whether the image has a regular file at `path` (relative to the image root), links followed inside it. */
export function imageHasFile(layerDirs: readonly string[], path: string): boolean {
  return findImageFile(layerDirs, path) !== undefined;
}

/**
 * Copies the image's folder `dir` (e.g. etc/skel; links on the way to it followed inside the image) into
 * `dest`: its regular files and folders, as the container would see them; links, devices and FIFOs are left
 * out, and files dest already has stay.
 */
export function copyImageTree(layerDirs: readonly string[], dir: string, dest: string): void {
  const view = LayerView.ofLayerDirs(layerDirs);
  let root: string;
  try {
    root = view.resolve(dir, true);
  } catch (error) {
    if (error instanceof SymlinkLoopError) return;
    throw error;
  }
  const copy = (rel: string, target: string) => {
    for (const name of view.readdir(rel)) {
      const path = rel ? `${rel}/${name}` : name;
      const entry = view.lookup(path);
      if (!entry) continue;
      const to = join(target, name);
      if (entry.stats.isDirectory()) {
        mkdirSync(to, { recursive: true, mode: entry.stats.mode & 0o777 });
        copy(path, to);
      } else if (entry.stats.isFile() && !existsSync(to)) {
        const fd = openEntry(entry, path);
        try {
          copyFileSync(`/proc/self/fd/${fd}`, to);
        } finally {
          closeSync(fd);
        }
      }
    }
  };
  if (view.lookup(root)?.stats.isDirectory()) copy(root, dest);
}
