/**
 * A container's or a project sandbox's mounts (volume/mount-spec.ts) made into what the helper mounts: bind
 * sources checked, named volumes made on first use, an anonymous volume made for each `-v /path`, and a volume
 * that is empty filled with what the image has at its target, as Docker fills it (not with `nocopy`).
 */
import { randomHex } from '../util/random.js';
import { readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cleanPath, LayerView, SymlinkLoopError } from '../image/layer-view.js';
import type { BindMount, TmpfsMount } from '../runtime/spec.js';
import { copyLayers } from '../storage/copy.js';
import type { IdMapping } from '../userns/idmap.js';
import { removeAsNamespaceRoot } from '../storage/remove.js';
import { DevboxError } from '../util/errors.js';
import type { MountSpec } from '../volume/mount-spec.js';
import { createVolume, type Volume, type VolumeUse } from '../volume/volume-store.js';

export interface ResolvedMounts {
  binds: BindMount[];
  tmpfs: TmpfsMount[];
  volumes: VolumeUse[];
}

export interface MountResources {
  storeRoot: string;
  mapping: IdMapping;
  /** The image's unpacked layers, bottom first: what fills a new volume. */
  lowerDirs: readonly string[];
}

/** The image's VOLUMEs no mount covers, as anonymous volumes (what Docker makes for them). */
export function imageVolumes(volumes: Record<string, unknown> | null | undefined, mounts: readonly MountSpec[]): MountSpec[] {
  const taken = new Set(mounts.map((m) => m.target));
  return Object.keys(volumes ?? {})
    .map((path) => `/${cleanPath(path)}`)
    .filter((target) => target !== '/' && !taken.has(target))
    .map((target): MountSpec => ({ type: 'volume', target, readonly: false }));
}

function isEmptyDirectory(path: string): boolean {
  try {
    return readdirSync(path).length === 0;
  } catch {
    return false; // unreadable to us: the image's ownership was copied into it, so it was filled before
  }
}

/**
 * Copies what the image has at `target` into the volume when the volume is empty. The copy is made beside
 * _data and renamed over it, so nothing another container writes into the volume meanwhile (a symlink) is
 * ever followed, and a volume filled meanwhile by someone else keeps its files.
 */
async function fillFromImage(volume: Volume, target: string, context: MountResources): Promise<void> {
  if (!isEmptyDirectory(volume.mountpoint)) return;
  const view = LayerView.ofLayerDirs(context.lowerDirs);
  let rel: string;
  try {
    rel = view.resolve(cleanPath(target), true);
  } catch (error) {
    if (error instanceof SymlinkLoopError) return; // a symlink loop in the image: nothing there to copy
    throw error;
  }
  if (!rel || !view.lookup(rel)?.stats.isDirectory()) return;
  const made = join(dirname(volume.mountpoint), `.fill-${randomHex(6)}`);
  await copyLayers(context.mapping, context.lowerDirs, made, rel);
  try {
    renameSync(made, volume.mountpoint);
  } catch (error) {
    await removeAsNamespaceRoot(context.mapping, [made]);
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  }
}

export async function resolveMounts(specs: readonly MountSpec[], context: MountResources): Promise<ResolvedMounts> {
  // Everything that can be wrong is checked before the first volume is made.
  const seen = new Set<string>();
  for (const spec of specs) {
    if (seen.has(spec.target)) throw new DevboxError(`duplicate mount point: ${spec.target}`, { fix: 'mount one thing at each path', kind: 'usage' });
    seen.add(spec.target);
    if (spec.type === 'bind' && !statSync(spec.source, { throwIfNoEntry: false })) {
      throw new DevboxError(`bind source path does not exist: ${spec.source}`, { fix: `create it first, or fix the path mounted at ${spec.target}` });
    }
  }
  const resolved: ResolvedMounts = { binds: [], tmpfs: [], volumes: [] };
  for (const spec of specs) {
    if (spec.type === 'tmpfs') resolved.tmpfs.push({ destination: spec.target, options: spec.readonly ? ['ro', ...spec.options] : spec.options });
    else if (spec.type === 'bind') {
      const propagation = spec.propagation ? { propagation: spec.propagation } : {};
      resolved.binds.push({ source: spec.source, destination: spec.target, readonly: spec.readonly, ...propagation });
    } else {
      const { volume } = createVolume(context.storeRoot, { name: spec.source });
      resolved.volumes.push({ name: volume.name, destination: spec.target, anonymous: volume.anonymous, readonly: spec.readonly });
      if (!spec.nocopy) await fillFromImage(volume, spec.target, context);
      resolved.binds.push({ source: volume.mountpoint, destination: spec.target, readonly: spec.readonly });
    }
  }
  return resolved;
}
