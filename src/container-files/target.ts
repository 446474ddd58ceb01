/**
 * What the file verbs (cp, diff, commit, export) need of a container: its image, its writable layer, its
 * mounts, whether it runs, and how the helper reaches its files (runtime/archive.ts): by joining it while it
 * runs, or in a sandbox set up over its layers (and, for cp, its volumes) while it is stopped.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseGroup, parsePasswd, readImageFile, resolveUser } from '../image/passwd.js';
import { ImageStore, type StoredImage } from '../image/store.js';
import type { ArchiveTarget } from '../runtime/archive.js';
import type { BindMount, LiveSandboxSpec } from '../runtime/spec.js';
import { findContainer, listContainers, type ContainerSummary } from '../sandbox/containers.js';
import { assembleRootfs } from '../sandbox/rootfs.js';
import { readSettings } from '../settings/settings.js';
import { selectDriver } from '../storage/driver.js';
import { resolveIdMapping, type IdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import { findVolume } from '../volume/volume-store.js';

export interface FilesContainer {
  /** As the user named it, for messages. */
  ref: string;
  summary: ContainerSummary;
  store: ImageStore;
  image: StoredImage;
  mapping: IdMapping;
  lowerDirs: string[];
  /** Its writable layer: an overlay upper directory, or the copy backend's whole private copy. */
  layer: { kind: 'upper'; dir: string } | { kind: 'copy'; dir: string };
  /** Where the sandbox mounted something: what the writable layer may hold only as a mount point. */
  mountPoints: string[];
}

/** The mount points every container has, besides its own mounts. */
const SANDBOX_MOUNT_POINTS = ['/proc', '/dev', '/sys', '/tmp', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf'];

export async function openContainer(ref: string): Promise<FilesContainer> {
  const settings = readSettings();
  const summary = findContainer(listContainers(settings.storageRoot), ref);
  const store = ImageStore.open(settings.storageRoot);
  let image: StoredImage;
  try {
    image = await store.resolve(summary.image);
  } catch {
    throw new DevboxError(`the image of container ${ref} is gone from the store`, { fix: 'remove the container with devbox rm' });
  }
  const { mapping } = resolveIdMapping();
  const copy = join(summary.dir, 'rootfs');
  return {
    ref,
    summary,
    store,
    image,
    mapping,
    lowerDirs: await store.layerDirs(image, mapping),
    layer: existsSync(copy) ? { kind: 'copy', dir: copy } : { kind: 'upper', dir: join(summary.dir, 'upper') },
    mountPoints: [...SANDBOX_MOUNT_POINTS, ...(summary.volumes ?? []).map((v) => v.destination)],
  };
}

/** The container's user (its image's USER), whom `cp -a` gives what it copies in. */
export function containerUser(container: FilesContainer): { uid: number; gid: number } {
  const user = resolveUser(
    container.image.config.config?.User || 'root',
    parsePasswd(readImageFile(container.lowerDirs, 'etc/passwd')),
    parseGroup(readImageFile(container.lowerDirs, 'etc/group')),
  );
  return { uid: user.uid, gid: user.gid };
}

/**
 * How the helper reaches the container's files. A running container is joined; one devbox cannot join (its
 * pid 1 unknown) is refused rather than mounted a second time under its feet. `withVolumes`: its volumes are
 * mounted too, where it mounts them (cp); export leaves them out, as Docker's does.
 */
export async function archiveTarget(container: FilesContainer, withVolumes: boolean): Promise<ArchiveTarget> {
  if (container.summary.running) {
    throw new DevboxError(`container ${container.ref} is running: devbox reaches the files of a stopped container only`, {
      fix: 'wait for it to exit, or stop it',
    });
  }
  const mounts: BindMount[] = [];
  for (const volume of withVolumes ? (container.summary.volumes ?? []) : []) {
    const found = findVolume(container.store.root, volume.name);
    if (found) mounts.push({ source: found.mountpoint, destination: volume.destination, readonly: volume.readonly });
  }
  const driver = container.layer.kind === 'copy' ? 'copy' : await selectDriver(readSettings().storage, container.store.root, container.mapping);
  if (driver === 'copy' && container.layer.kind !== 'copy') {
    throw new DevboxError(`container ${container.ref} has an overlay writable layer, and neither kernel overlay nor fuse-overlayfs works here now`, {
      fix: 'see "devbox doctor"',
    });
  }
  const sandbox: LiveSandboxSpec = {
    idMapping: container.mapping,
    rootfs: await assembleRootfs(driver, container.mapping, container.lowerDirs, container.summary.dir),
    mounts,
    hostname: container.summary.id.slice(0, 12),
    network: 'none',
  };
  return { kind: 'stopped', sandbox };
}
