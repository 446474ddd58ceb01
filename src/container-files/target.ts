/**
 * What the file verbs (cp, diff, commit, export) need of a container: its image, its writable layer, its
 * mounts, whether it runs, and how the helper reaches its files (runtime/archive.ts): by joining it while it
 * runs, or in a sandbox set up over its layers (and, for cp, its volumes) while it is stopped.
 */
import { existsSync } from 'node:fs';
import { findContainer, isRunning, type Container } from '../container/lookup.js';
import { writableLayer, type WritableLayer } from '../container/records.js';
import { ImageStore, type StoredImage } from '../image/store.js';
import type { ArchiveTarget } from '../runtime/archive.js';
import { resolveSecurity } from '../runtime/security.js';
import type { LiveSandboxSpec } from '../runtime/spec.js';
import { assembleRootfs } from '../sandbox/rootfs.js';
import { readSettings } from '../settings/settings.js';
import type { IdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';

export interface FilesContainer {
  /** As the user named it, for messages. */
  ref: string;
  container: Container;
  store: ImageStore;
  image: StoredImage;
  /** The container's own id map: its files belong to those ids. */
  mapping: IdMapping;
  lowerDirs: string[];
  layer: WritableLayer;
  /** Where the sandbox mounted something: what the writable layer may hold only as a mount point. */
  mountPoints: string[];
}

/** The mount points every container has, besides its own mounts. */
const SANDBOX_MOUNT_POINTS = ['/proc', '/dev', '/sys', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf'];

export async function openContainer(ref: string): Promise<FilesContainer> {
  const settings = readSettings();
  const container = findContainer(settings.storageRoot, ref);
  const { config } = container;
  const store = ImageStore.open(settings.storageRoot);
  let image: StoredImage;
  try {
    image = await store.resolve(config.image);
  } catch {
    throw new DevboxError(`the image of container ${ref} is gone from the store`, { fix: 'remove the container with devbox rm' });
  }
  return {
    ref,
    container,
    store,
    image,
    mapping: config.idMapping,
    lowerDirs: await store.layerDirs(image, config.idMapping),
    layer: writableLayer(config, container.dir),
    mountPoints: [...SANDBOX_MOUNT_POINTS, ...config.mounts.map((m) => m.destination), ...config.tmpfs.map((t) => t.destination)],
  };
}

/** The container's user (--user, or its image's USER), whom `cp -a` gives what it copies in. */
export function containerUser(container: FilesContainer): { uid: number; gid: number } {
  return { uid: container.container.config.process.uid, gid: container.container.config.process.gid };
}

/**
 * How the helper reaches the container's files. A running container is joined (its recorded pid 1): the
 * helper works in its mount namespace, on what it sees. A stopped one gets a sandbox set up for the copy over
 * its layers; `withMounts`: its volumes and binds too, where it mounts them (cp); export leaves them out, as
 * Docker's does.
 */
export async function archiveTarget(container: FilesContainer, withMounts: boolean): Promise<ArchiveTarget> {
  const { config, state, dir } = container.container;
  if (isRunning(container.container)) {
    if (state.pid > 0) return { kind: 'live', pid: state.pid };
    throw new DevboxError(`container ${container.ref} is restarting: its files cannot be reached this moment`, { fix: 'try again' });
  }
  const sandbox: LiveSandboxSpec = {
    idMapping: config.idMapping,
    rootfs: await assembleRootfs(config.storage, config.idMapping, container.lowerDirs, dir),
    mounts: withMounts ? config.mounts.filter((m) => existsSync(m.source)) : [],
    hostname: config.hostname,
    network: 'none',
    // The helper gives --archive the file capabilities it needs, whatever these say; nothing of the container runs.
    security: config.security ?? resolveSecurity(),
  };
  return { kind: 'stopped', sandbox };
}
