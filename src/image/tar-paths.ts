/**
 * Pure decisions about layer tar entries: what path inside the layer an entry names, whether it is an OCI
 * whiteout, and whether its type is one devbox extracts. An entry that would climb out of the layer is
 * refused, not "sanitized": a layer that tries is hostile or broken (containerd's TestBreakouts and umoci's
 * scoping tests are the cases covered in test/unit).
 */
import { posix } from 'node:path';
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from '../storage/layer-format.js';

/** A layer entry devbox refuses; the message names the entry. */
export class LayerEntryError extends Error {}

/**
 * The path an entry names, relative to the layer root ('' for the root itself). Leading '/' and './' are
 * dropped, as tar does; a '..' that would leave the root throws. Cleaning is lexical and happens before
 * the file system is touched, so `a/../b` never walks through whatever `a` is on disk.
 */
export function entryPath(name: string): string {
  if (name.includes('\0')) throw new LayerEntryError(`entry "${name}" has a NUL byte in its name`);
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (!parts.length) throw new LayerEntryError(`entry "${name}" escapes the layer directory`);
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return parts.join('/');
}

/**
 * A hard link's target: a path inside the layer other than its root. Tar link names are relative to the
 * archive root, not to the link's directory.
 */
export function hardlinkTarget(entry: string, linkname: string): string {
  let target: string;
  try {
    target = entryPath(linkname);
  } catch {
    throw new LayerEntryError(`hard link "${entry}" points at "${linkname}", which escapes the layer directory`);
  }
  if (!target) throw new LayerEntryError(`hard link "${entry}" points at the layer root`);
  return target;
}

export type WhiteoutKind = { kind: 'opaque'; dir: string } | { kind: 'whiteout'; target: string } | { kind: 'none' };

/**
 * `.wh..wh..opq` marks its directory opaque ('' is the layer root); `.wh.NAME` deletes NAME from the layers
 * below (image-spec layer.md). `path` is an already cleaned entry path.
 */
export function classifyWhiteout(path: string): WhiteoutKind {
  const base = posix.basename(path);
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);
  if (base === OPAQUE_WHITEOUT) return { kind: 'opaque', dir };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (!name || name === '.' || name === '..') throw new LayerEntryError(`whiteout "${path}" names no file in its directory`);
  return { kind: 'whiteout', target: dir ? `${dir}/${name}` : name };
}

/** The parent directories of a relative path, shallowest first: a/b/c → [a, a/b]. */
export function parentsOf(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** True when `path` is `ancestor` or lies beneath it (both relative, cleaned; '' is the root). */
export function isSameOrBelow(path: string, ancestor: string): boolean {
  return ancestor === '' || path === ancestor || path.startsWith(`${ancestor}/`);
}

export type EntryKind = 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'device';

export interface EntryHeader {
  name: string;
  type?: string | null;
  pax?: Record<string, string> | null;
}

/**
 * What an entry is, or an error for what devbox cannot extract faithfully: GNU sparse files (their body is a
 * sparse map, not the content) and types tar-stream does not know. Skipping them would silently drop files.
 */
export function entryKind(header: EntryHeader): EntryKind {
  if (header.pax && Object.keys(header.pax).some((k) => k.startsWith('GNU.sparse.'))) {
    throw new LayerEntryError(`entry "${header.name}" is a GNU sparse file, which devbox cannot extract`);
  }
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
    case 'symlink':
    case 'link':
    case 'fifo':
      return header.type;
    case 'character-device':
    case 'block-device':
      return 'device';
    default:
      throw new LayerEntryError(`entry "${header.name}" has a tar entry type devbox cannot extract (${header.type ?? 'unknown'})`);
  }
}
