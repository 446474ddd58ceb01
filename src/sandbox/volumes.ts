/**
 * `devbox volume …` over the volume store: who uses each volume (containers, stopped ones included, and project
 * sandboxes, as Docker counts containers), the shapes `volume inspect` and `volume ls` show, `ls --filter`, prune.
 */
import type { IdMapping } from '../userns/idmap.js';
import { treeBytes } from '../util/disk-usage.js';
import { DevboxError } from '../util/errors.js';
import { listContainers } from '../container/lookup.js';
import type { ContainerRecord } from '../container/records.js';
import { findVolume, listVolumes, removeVolumes, type Volume, type VolumeUsers } from '../volume/volume-store.js';
import { listSandboxes } from './live-state.js';

/** Who uses each volume; `except`: a container id left out (the one being removed). */
export function volumeUsers(storeRoot: string, except?: string): VolumeUsers {
  const users = new Map<string, string[]>();
  const add = (name: string, user: string) => users.set(name, [...(users.get(name) ?? []), user]);
  for (const container of listContainers(storeRoot))
    if (container.id !== except) for (const v of container.config.volumes ?? []) add(v.name, container.id.slice(0, 12));
  for (const sandbox of listSandboxes(storeRoot)) for (const name of sandbox.state.volumes ?? []) add(name, `${sandbox.state.name} (project sandbox)`);
  return users;
}

/**
 * The volumes made for this container alone (`-v /path`, the image's VOLUMEs), which go with it on `rm -v`,
 * `--rm` and a failed create, as Docker's. One another container still uses (--volumes-from) stays; one
 * already gone is no error.
 */
export async function removeAnonymousVolumes(storeRoot: string, record: Pick<ContainerRecord, 'id' | 'volumes' | 'idMapping'>): Promise<void> {
  // Finding the users reads every container's and sandbox's records: not for a container without any.
  if (!record.volumes.some((v) => v.anonymous)) return;
  const users = volumeUsers(storeRoot, record.id);
  const names = record.volumes.filter((v) => v.anonymous && !users.get(v.name)?.length && findVolume(storeRoot, v.name)).map((v) => v.name);
  if (names.length) await removeVolumes(storeRoot, record.idMapping, names, users);
}

/** Docker's `volume inspect` object. */
export function inspectShape(volume: Volume): Record<string, unknown> {
  const labels = Object.keys(volume.labels).length ? volume.labels : null;
  return {
    CreatedAt: volume.createdAt.replace(/\.\d+Z$/, 'Z'),
    Driver: 'local',
    Labels: labels,
    Mountpoint: volume.mountpoint,
    Name: volume.name,
    Options: null,
    Scope: 'local',
  };
}

/** The fields `volume ls --format` offers, as Docker's volume formatter has them. */
export function listShape(volume: Volume, users: VolumeUsers): Record<string, unknown> {
  return {
    Name: volume.name,
    Driver: 'local',
    Scope: 'local',
    Mountpoint: volume.mountpoint,
    Labels: Object.entries(volume.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Links: String(users.get(volume.name)?.length ?? 0),
    Size: 'N/A',
    CreatedAt: volume.createdAt,
  };
}

export type VolumeFilter = (volume: Volume, users: VolumeUsers) => boolean;

/** `--filter` as `docker volume ls` takes it: dangling, driver, label (all must hold), name (any may match). */
export function volumeFilter(filters: readonly string[]): VolumeFilter {
  const byKey = new Map<string, string[]>();
  for (const filter of filters) {
    const eq = filter.indexOf('=');
    const key = eq < 0 ? filter : filter.slice(0, eq);
    if (eq < 0 || !['dangling', 'driver', 'label', 'name'].includes(key)) {
      throw new DevboxError(`invalid filter '${filter}'`, { fix: 'filters: dangling=true|false, driver=local, label=KEY[=VALUE], name=TEXT', kind: 'usage' });
    }
    byKey.set(key, [...(byKey.get(key) ?? []), filter.slice(eq + 1)]);
  }
  const dangling = byKey.get('dangling')?.at(-1);
  if (dangling !== undefined && !['true', 'false', '1', '0'].includes(dangling)) {
    throw new DevboxError(`invalid filter 'dangling=${dangling}'`, { fix: 'use dangling=true or dangling=false', kind: 'usage' });
  }
  return (volume, users) => {
    if (dangling !== undefined && (dangling === 'true' || dangling === '1') === (users.get(volume.name)?.length ?? 0) > 0) return false;
    if (byKey.has('driver') && !byKey.get('driver')!.includes('local')) return false;
    if (byKey.has('name') && !byKey.get('name')!.some((n) => volume.name.includes(n))) return false;
    for (const label of byKey.get('label') ?? []) {
      const eq = label.indexOf('=');
      const key = eq < 0 ? label : label.slice(0, eq);
      if (!(key in volume.labels) || (eq >= 0 && volume.labels[key] !== label.slice(eq + 1))) return false;
    }
    return true;
  };
}

/** For `devbox system df`: volumes, those in use, their bytes (a lower bound) and what no container uses. */
export function volumesUsage(storeRoot: string): { total: number; active: number; size: number; reclaimable: number } {
  const users = volumeUsers(storeRoot);
  const usage = { total: 0, active: 0, size: 0, reclaimable: 0 };
  for (const volume of listVolumes(storeRoot)) {
    const bytes = treeBytes(volume.mountpoint);
    const used = (users.get(volume.name)?.length ?? 0) > 0;
    usage.total++;
    usage.size += bytes;
    if (used) usage.active++;
    else usage.reclaimable += bytes;
  }
  return usage;
}

export interface PruneResult {
  deleted: string[];
  /** Bytes freed, as far as this user can see into the volumes (a lower bound). */
  reclaimed: number;
}

/** Removes the volumes no container or project sandbox uses: anonymous ones, or with `all` named ones too (Docker 23's rule). */
export async function pruneVolumes(storeRoot: string, mapping: IdMapping, options: { all: boolean; filters: readonly string[] }): Promise<PruneResult> {
  const users = volumeUsers(storeRoot);
  const matches = volumeFilter(options.filters);
  const unused = listVolumes(storeRoot).filter((v) => !users.get(v.name)?.length && (options.all || v.anonymous) && matches(v, users));
  const reclaimed = unused.reduce((sum, v) => sum + treeBytes(v.mountpoint), 0);
  await removeVolumes(
    storeRoot,
    mapping,
    unused.map((v) => v.name),
    users,
  );
  return { deleted: unused.map((v) => v.name), reclaimed };
}
