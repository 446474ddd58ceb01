/**
 * An overlay upper directory as the changes Docker's `diff` lists (moby archive changes.go, overlay flavour):
 * `A` a path the image did not have, `C` one it had (a directory holding a change counts as changed), `D` a
 * whiteout, and under a directory made opaque every path the image had there. Mount stubs (what the sandbox
 * made only to mount on) are left out while nothing else is in them, as layer-tar.ts leaves them out of a
 * layer. Runs as root of the user namespace, which owns the files; names sorted, parents before children.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { XattrReader } from './layer-tar.js';
import { isWhiteout, LayerView } from '../image/layer-view.js';

export interface Change {
  kind: 'A' | 'C' | 'D';
  /** Absolute inside the container. */
  path: string;
}

const OPAQUE_XATTRS = new Set(['user.overlay.opaque', 'trusted.overlay.opaque', 'user.fuseoverlayfs.opaque']);
/** fuse-overlayfs's forms where it cannot make whiteout devices or set xattrs. */
const FUSE_WHITEOUT = '.wh.';
const FUSE_OPAQUE = '.wh..wh..opq';

export async function listChanges(upper: string, lowers: readonly string[], stubs: ReadonlySet<string>, readXattrs: XattrReader): Promise<Change[]> {
  const view = LayerView.ofLayerDirs(lowers);
  const dirs: string[] = [];
  const collectDirs = (rel: string) => {
    for (const name of readdirSync(join(upper, rel))) {
      const child = rel ? `${rel}/${name}` : name;
      if (lstatSync(join(upper, child)).isDirectory()) {
        dirs.push(child);
        collectDirs(child);
      }
    }
  };
  collectDirs('');
  const xattrs = await readXattrs(dirs.map((d) => join(upper, d)));
  const opaque = new Set(dirs.filter((d) => (xattrs.get(join(upper, d)) ?? []).some((x) => OPAQUE_XATTRS.has(x.name) && x.value.toString() === 'y')));

  const walk = (rel: string): Change[] => {
    const changes: Change[] = [];
    const names = readdirSync(join(upper, rel)).sort();
    for (const name of names) {
      if (name === FUSE_OPAQUE) continue;
      const child = rel ? `${rel}/${name}` : name;
      const stats = lstatSync(join(upper, child));
      if (isWhiteout(stats) || name.startsWith(FUSE_WHITEOUT)) {
        const hidden = name.startsWith(FUSE_WHITEOUT) ? (rel ? `${rel}/${name.slice(FUSE_WHITEOUT.length)}` : name.slice(FUSE_WHITEOUT.length)) : child;
        if (view.lookup(hidden)) changes.push({ kind: 'D', path: `/${hidden}` });
        continue;
      }
      const inImage = view.lookup(child) !== undefined;
      if (!stats.isDirectory()) {
        if (stubs.has(child) && stats.isFile() && stats.size === 0) continue;
        changes.push({ kind: inImage ? 'C' : 'A', path: `/${child}` });
        continue;
      }
      const inside = walk(child);
      if (stubs.has(child) && !inside.length) continue;
      changes.push({ kind: inImage ? 'C' : 'A', path: `/${child}` });
      const kept = new Set(readdirSync(join(upper, child)));
      if (inImage && (opaque.has(child) || kept.has(FUSE_OPAQUE))) {
        for (const gone of view.readdir(child)) if (!kept.has(gone)) inside.push({ kind: 'D', path: `/${child}/${gone}` });
        inside.sort((a, b) => (a.path < b.path ? -1 : 1));
      }
      changes.push(...inside);
    }
    return changes;
  };
  return walk('');
}
