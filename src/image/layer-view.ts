/**
 * A read-only merged view of layer directories (bottom first), as overlayfs would show them, and symlink
 * resolution scoped to the view's root: a link is resolved inside the view, `..` and absolute targets stop at
 * its root, so no path resolved here leads out of it (the securejoin idea; CVE-2018-15664 and umoci's
 * CVE-2021-29136 were links followed out of the root). Only lstat and readlink touch the file system.
 * Used for every file devbox reads from an image (image-files.ts: /etc/passwd, /etc/group, the shell), build
 * contexts (one layer), COPY --from sources and COPY destinations.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { LayerRecord } from '../storage/layer-format.js';

export interface ViewLayer {
  dir: string;
  /** Directories (relative paths) that hide what the layers below have in them. */
  opaque: ReadonlySet<string>;
}

export interface ViewEntry {
  /** The entry's path on the host, in the layer that provides it. */
  hostPath: string;
  stats: Stats;
}

/** A path that climbs through more symlinks than Linux allows. */
export class SymlinkLoopError extends Error {}

const MAX_SYMLINKS = 40;

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** An overlay whiteout: a character device 0/0. */
export function isWhiteout(stats: Stats): boolean {
  return stats.isCharacterDevice() && stats.rdev === 0;
}

/** Path components of a relative or absolute path, lexically cleaned ('..' stops at the root). */
export function cleanPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (!part || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

export class LayerView {
  constructor(private readonly layers: readonly ViewLayer[]) {}

  /** A view of unpacked store layers (their records name the opaque directories), plus plain directories. */
  static ofLayerDirs(dirs: readonly string[]): LayerView {
    return new LayerView(
      dirs.map((dir) => {
        let opaque: string[] = [];
        try {
          opaque = (JSON.parse(readFileSync(`${dir}.json`, 'utf8')) as LayerRecord).opaqueDirs;
        } catch {
          // a plain directory (a build context, a step's staging directory): nothing is opaque
        }
        return { dir, opaque: new Set(opaque) };
      }),
    );
  }

  /** The view with `dir` as a new topmost layer. */
  with(dir: string): LayerView {
    return new LayerView([...this.layers, { dir, opaque: new Set() }]);
  }

  /**
   * Indices of the layers that contribute to directory `rel` (topmost first), or undefined when `rel` is
   * not a directory in the view. Whiteouts, non-directories and opaque directories hide what lies below.
   */
  private contributors(rel: string): number[] | undefined {
    let active = this.layers.map((_, i) => this.layers.length - 1 - i);
    let prefix = '';
    for (const part of rel ? rel.split('/') : []) {
      prefix = prefix ? `${prefix}/${part}` : part;
      const next: number[] = [];
      for (const i of active) {
        const st = lstatOrUndefined(join(this.layers[i].dir, prefix));
        if (!st) continue;
        if (!st.isDirectory()) break; // a whiteout or a file here hides this path in every lower layer
        next.push(i);
        if (this.layers[i].opaque.has(prefix)) break;
      }
      if (!next.length) return undefined;
      active = next;
    }
    return active;
  }

  /** The entry at `rel` (a cleaned relative path; '' is the root), symlinks not followed. */
  lookup(rel: string): ViewEntry | undefined {
    const slash = rel.lastIndexOf('/');
    const parent = this.contributors(slash < 0 ? '' : rel.slice(0, slash));
    if (!parent) return undefined;
    if (!rel) {
      const hostPath = this.layers[parent[0]]?.dir;
      return hostPath === undefined ? undefined : { hostPath, stats: lstatSync(hostPath) };
    }
    for (const i of parent) {
      const hostPath = join(this.layers[i].dir, rel);
      const st = lstatOrUndefined(hostPath);
      if (!st) continue;
      return isWhiteout(st) ? undefined : { hostPath, stats: st };
    }
    return undefined;
  }

  /** Names in directory `rel`, merged across layers, sorted; whiteouts and what they hide left out. */
  readdir(rel: string): string[] {
    const layers = this.contributors(rel);
    if (!layers) return [];
    const names = new Map<string, boolean>();
    for (const i of layers) {
      for (const name of readdirSync(join(this.layers[i].dir, rel))) {
        if (names.has(name)) continue;
        names.set(name, !isWhiteout(lstatSync(join(this.layers[i].dir, rel, name))));
      }
    }
    return [...names]
      .filter(([, visible]) => visible)
      .map(([name]) => name)
      .sort();
  }

  /**
   * `path` with every symlink in it resolved inside the view (the last component only when `followLast`).
   * The result is a cleaned relative path; it may name something that does not exist.
   */
  resolve(path: string, followLast: boolean): string {
    const remaining = path.split('/');
    const resolved: string[] = [];
    let links = 0;
    while (remaining.length) {
      const part = remaining.shift()!;
      if (!part || part === '.') continue;
      if (part === '..') {
        resolved.pop();
        continue;
      }
      if (!remaining.some((p) => p && p !== '.') && !followLast) {
        resolved.push(part);
        break;
      }
      const entry = this.lookup([...resolved, part].join('/'));
      if (entry?.stats.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw new SymlinkLoopError(`too many levels of symbolic links in "${path}"`);
        const target = readlinkSync(entry.hostPath);
        if (target.startsWith('/')) resolved.length = 0;
        remaining.unshift(...target.split('/'));
        continue;
      }
      resolved.push(part);
    }
    return resolved.join('/');
  }
}
