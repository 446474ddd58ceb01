/**
 * `devbox export`: the container's file system flattened into one tar, as `docker export` writes it: its own
 * files only, each mount point (/proc, a volume, /etc/hosts) an empty directory or file. The helper walks the
 * root inside the container's namespaces (runtime/archive.ts), never following a symlink.
 */
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startArchive } from '../runtime/archive.js';
import { archiveTarget, type FilesContainer } from './target.js';

export async function exportContainer(container: FilesContainer, out: Writable): Promise<void> {
  const helper = startArchive(await archiveTarget(container, false), { op: 'get', path: '/', name: '', follow: false, oneFileSystem: true });
  helper.stdin.end();
  await Promise.all([pipeline(helper.stdout, out), helper.done]);
}
