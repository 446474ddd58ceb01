/**
 * Pure decisions about the tar entries devbox reads in Node.js (image archives, Features, a container's tar
 * that `devbox cp` extracts on the host): what path an entry names, and whether its type is one devbox
 * extracts. An entry that would climb out is refused, not "sanitized": a tar that tries is hostile or broken
 * (containerd's TestBreakouts and umoci's scoping tests are the cases covered in test/unit). Image layers and
 * ADD's archives are extracted by the helper (native/layer.c), which follows the same rules.
 */

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

/** The parent directories of a relative path, shallowest first: a/b/c → [a, a/b]. */
export function parentsOf(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
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
