/**
 * Volumes in the store, laid out as Docker's and podman's local driver lays them out: volumes/<name>/_data is
 * what containers mount, volumes/<name>/volume.json what `devbox volume inspect` shows. A volume appears whole:
 * it is made in a temp directory and renamed into place, so two containers naming a new volume at the same
 * moment get the same one. _data holds files of the user namespace's ids (as the containers wrote them), so a
 * volume is removed by root of the user namespace, after being renamed out of sight.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeAsNamespaceRoot } from '../storage/remove.js';
import type { IdMapping } from '../userns/idmap.js';
import { DevboxError, describeError } from '../util/errors.js';
import { VOLUME_NAME } from './mount-spec.js';
import { randomHex } from '../util/random.js';

/** Docker marks the volumes it makes for `-v /path` and an image's VOLUME with this label. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export interface VolumeRecord {
  name: string;
  /** RFC 3339, as Docker shows it. */
  createdAt: string;
  labels: Record<string, string>;
  /** Made for one container (`-v /path`, an image's VOLUME): `rm -v` and `--rm` remove it with the container. */
  anonymous: boolean;
}

/** A volume as a container or project sandbox uses it: what `rm -v` removes and `volume rm` checks. */
export interface VolumeUse {
  name: string;
  destination: string;
  anonymous: boolean;
  readonly: boolean;
}

export interface Volume extends VolumeRecord {
  /** The directory containers mount. */
  mountpoint: string;
}

export function volumesDir(storeRoot: string): string {
  return join(storeRoot, 'volumes');
}

const RECORD = 'volume.json';
const DATA = '_data';
/** Names in volumes/ that are no volume: a volume being made, migrated or removed. */
const isWorkName = (name: string) => name.startsWith('.');

function toVolume(storeRoot: string, record: VolumeRecord): Volume {
  return { ...record, mountpoint: join(volumesDir(storeRoot), record.name, DATA) };
}

/**
 * A volume from before volumes had records (a project's named volume was the directory itself): its files
 * become _data of a volume with a record, made aside and renamed into place.
 */
function adoptLegacyVolume(storeRoot: string, name: string): void {
  const dir = join(volumesDir(storeRoot), name);
  const parked = join(volumesDir(storeRoot), `.legacy-${randomHex(6)}`);
  renameSync(dir, parked);
  const made = join(volumesDir(storeRoot), `.new-${randomHex(6)}`);
  mkdirSync(made, { mode: 0o700 });
  writeRecord(made, { name, createdAt: new Date().toISOString(), labels: {}, anonymous: false });
  renameSync(parked, join(made, DATA));
  renameSync(made, dir);
}

function writeRecord(dir: string, record: VolumeRecord): void {
  writeFileSync(join(dir, RECORD), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}

function readRecord(storeRoot: string, name: string): VolumeRecord | undefined {
  const dir = join(volumesDir(storeRoot), name);
  try {
    return JSON.parse(readFileSync(join(dir, RECORD), 'utf8')) as VolumeRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new DevboxError(`cannot read volume ${name}: ${describeError(error)}`);
    if (!existsSync(dir)) return undefined;
  }
  adoptLegacyVolume(storeRoot, name);
  return readRecord(storeRoot, name);
}

export function findVolume(storeRoot: string, name: string): Volume | undefined {
  if (!VOLUME_NAME.test(name)) return undefined;
  const record = readRecord(storeRoot, name);
  return record && toVolume(storeRoot, record);
}

/** The volume called `name`, or an error as Docker words it. */
export function getVolume(storeRoot: string, name: string): Volume {
  const volume = findVolume(storeRoot, name);
  if (!volume) throw new DevboxError(`no such volume: ${name}`, { fix: 'see "devbox volume ls"' });
  return volume;
}

/** Every volume, by name. */
export function listVolumes(storeRoot: string): Volume[] {
  let names: string[];
  try {
    names = readdirSync(volumesDir(storeRoot));
  } catch {
    return [];
  }
  return names
    .filter((name) => !isWorkName(name))
    .sort()
    .flatMap((name) => {
      const volume = findVolume(storeRoot, name);
      return volume ? [volume] : [];
    });
}

export interface CreateVolumeOptions {
  /** Undefined: an anonymous volume, named with 64 random hex digits as Docker names them. */
  name?: string;
  labels?: Record<string, string>;
}

/**
 * The volume `name`, made when missing (`docker volume create` of an existing name gives it back, as does a
 * run naming it). `created` tells whether this call made it: only a new volume is filled from the image.
 */
export function createVolume(storeRoot: string, options: CreateVolumeOptions = {}): { volume: Volume; created: boolean } {
  const anonymous = options.name === undefined;
  const name = options.name ?? randomHex(32);
  if (!VOLUME_NAME.test(name)) {
    throw new DevboxError(`"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`, { kind: 'usage' });
  }
  const existing = findVolume(storeRoot, name);
  if (existing) return { volume: existing, created: false };
  const record: VolumeRecord = {
    name,
    createdAt: new Date().toISOString(),
    labels: { ...options.labels, ...(anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) },
    anonymous,
  };
  mkdirSync(volumesDir(storeRoot), { recursive: true, mode: 0o700 });
  const made = join(volumesDir(storeRoot), `.new-${randomHex(6)}`);
  mkdirSync(made, { mode: 0o700 });
  try {
    mkdirSync(join(made, DATA), { mode: 0o755 });
    writeRecord(made, record);
    renameSync(made, join(volumesDir(storeRoot), name));
  } catch (error) {
    rmSync(made, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    // Someone made it meanwhile: theirs is the volume.
    if (code === 'EEXIST' || code === 'ENOTEMPTY') return { volume: getVolume(storeRoot, name), created: false };
    throw new DevboxError(`cannot create volume ${name}: ${describeError(error)}`);
  }
  return { volume: toVolume(storeRoot, record), created: true };
}

/** Who uses each volume: container names (or ids) by volume name, stopped containers included (as Docker counts). */
export type VolumeUsers = ReadonlyMap<string, readonly string[]>;

/**
 * Removes volumes; one in use by a container is refused, naming the containers (Docker: "volume is in use").
 * Each goes out of sight first (a rename), then its files, which belong to the user namespace's ids.
 */
export async function removeVolumes(storeRoot: string, mapping: IdMapping, names: readonly string[], users: VolumeUsers): Promise<void> {
  const volumes = names.map((name) => getVolume(storeRoot, name));
  for (const volume of volumes) {
    const using = users.get(volume.name) ?? [];
    if (using.length) {
      throw new DevboxError(`remove ${volume.name}: volume is in use - [${using.join(', ')}]`, { fix: 'remove those containers first ("devbox rm")' });
    }
  }
  const parked = volumes.map((volume) => {
    const path = join(volumesDir(storeRoot), `.removing-${randomHex(6)}`);
    renameSync(join(volumesDir(storeRoot), volume.name), path);
    return path;
  });
  await removeAsNamespaceRoot(mapping, parked);
}

/** Leftovers of an interrupted create, migration or removal (only when no other devbox command is using volumes/). */
export function workDirectories(storeRoot: string): string[] {
  try {
    return readdirSync(volumesDir(storeRoot))
      .filter(isWorkName)
      .map((name) => join(volumesDir(storeRoot), name));
  } catch {
    return [];
  }
}
