/**
 * Pure decisions about layer tar entry names: what path inside the layer an entry names, and whether it is
 * an OCI whiteout. An entry that would climb out of the layer is refused, not "sanitized": a layer that tries
 * is hostile or broken (containerd's TestBreakouts and umoci's scoping tests are the cases covered).
 */
import { posix } from 'node:path';
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from '../storage/layer-format.js';

export class UnsafeEntryError extends Error {}

/**
 * The path an entry names, relative to the layer root ('' for the root itself). Leading '/' and './' are
 * dropped, as tar does; any '..' that would leave the root throws.
 */
export function entryPath(name: string): string {
  if (name.includes('\0')) throw new UnsafeEntryError(`entry "${name}" has a NUL byte in its name`);
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (!parts.length) throw new UnsafeEntryError(`entry "${name}" escapes the layer directory`);
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return parts.join('/');
}

/** A hard link's target, which must name a path inside the layer other than its root. */
export function hardlinkTarget(entry: string, linkname: string): string {
  const target = entryPath(linkname);
  if (!target) throw new UnsafeEntryError(`hard link "${entry}" points at the layer root`);
  return target;
}

export type WhiteoutKind = { kind: 'opaque'; dir: string } | { kind: 'whiteout'; target: string } | { kind: 'none' };

/** `.wh..wh..opq` marks its directory opaque; `.wh.NAME` deletes NAME from the layers below. */
export function classifyWhiteout(path: string): WhiteoutKind {
  const base = posix.basename(path);
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);
  if (base === OPAQUE_WHITEOUT) return { kind: 'opaque', dir };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (!name || name === '.' || name === '..') throw new UnsafeEntryError(`whiteout "${path}" names no file`);
  return { kind: 'whiteout', target: dir ? `${dir}/${name}` : name };
}

/** The parent directories of a relative path, shallowest first: a/b/c → [a, a/b]. */
export function parentsOf(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}
