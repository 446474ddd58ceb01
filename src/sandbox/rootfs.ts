/**
 * A sandbox's root file system in its directory: the image's layers under a writable layer (upper, work)
 * mounted at merged/, or a private copy in rootfs/. Safe to call again for a directory that already has one:
 * a project's sandbox keeps its writable layer across stop and start.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RootfsSpec } from '../runtime/spec.js';
import { copyLayers } from '../storage/copy.js';
import type { StorageDriver } from '../storage/driver.js';
import { requireFuseOverlayfs } from '../storage/fuse-overlayfs.js';
import type { IdMapping } from '../userns/idmap.js';

export async function assembleRootfs(driver: StorageDriver, mapping: IdMapping, lowerDirs: string[], dir: string): Promise<RootfsSpec> {
  if (!lowerDirs.length) {
    // An image with no layers (FROM scratch): overlayfs still wants one lower directory.
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    lowerDirs = [empty];
  }
  const layout = { lowerDirs, upperDir: join(dir, 'upper'), workDir: join(dir, 'work'), mountpoint: join(dir, 'merged') };
  switch (driver) {
    case 'native':
      mkdirSync(layout.mountpoint, { recursive: true });
      return { kind: 'overlay', ...layout };
    case 'fuse':
      mkdirSync(layout.mountpoint, { recursive: true });
      return { kind: 'fuse-overlay', program: requireFuseOverlayfs(), ...layout };
    case 'copy': {
      const rootfs = join(dir, 'rootfs');
      if (!existsSync(rootfs)) await copyLayers(mapping, lowerDirs, rootfs);
      return { kind: 'directory', dir: rootfs };
    }
  }
}
