/**
 * Choosing how a container's root file system is assembled from its layers:
 *   native — kernel overlayfs mounted inside the user namespace (Linux ≥ 5.11 with `userxattr`);
 *   fuse   — fuse-overlayfs, where the kernel refuses that;
 *   copy   — a private copy of the layers, where neither works.
 * `auto` probes once and records the answer in <store>/storage.json (per kernel release), as
 * containers/storage records its mount program.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import type { StorageSetting } from '../settings/settings.js';
import { probeOverlayMount } from '../runtime/namespace.js';
import type { IdMapping } from '../userns/idmap.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { DevboxError } from '../util/errors.js';
import { findProgram } from '../util/programs.js';
import { fuseDeviceUsable } from './fuse-overlayfs.js';

export type StorageDriver = 'native' | 'fuse' | 'copy';

interface ProbeRecord {
  kernel: string;
  driver: StorageDriver;
}

/** Mounts a two-layer overlay in a throwaway user namespace; true when the kernel allows it. */
export async function probeKernelOverlay(mapping: IdMapping, tmpDir: string): Promise<boolean> {
  mkdirSync(tmpDir, { recursive: true });
  const dir = mkdtempSync(join(tmpDir, 'probe-'));
  try {
    for (const sub of ['l1', 'l2', 'upper', 'work', 'merged']) mkdirSync(join(dir, sub));
    const layout = { lowerDirs: [`${dir}/l1`, `${dir}/l2`], upperDir: `${dir}/upper`, workDir: `${dir}/work`, mountpoint: `${dir}/merged` };
    return (await probeOverlayMount(mapping, layout)).ok;
  } finally {
    // Nothing was written through the mount: what overlay left behind are empty dirs the caller may remove.
    rmSync(dir, { recursive: true, force: true });
  }
}

async function probeDriver(mapping: IdMapping, tmpDir: string): Promise<StorageDriver> {
  if (await probeKernelOverlay(mapping, tmpDir)) return 'native';
  if (findProgram('fuse-overlayfs') && fuseDeviceUsable()) return 'fuse';
  return 'copy';
}

/** The backend to use: the requested one, or for `auto` the recorded (or freshly probed) best one. */
export async function selectDriver(requested: StorageSetting, storeRoot: string, mapping: IdMapping): Promise<StorageDriver> {
  if (requested !== 'auto') return requested;
  const recordPath = join(storeRoot, 'storage.json');
  try {
    const record = JSON.parse(readFileSync(recordPath, 'utf8')) as ProbeRecord;
    if (record.kernel === release() && ['native', 'fuse', 'copy'].includes(record.driver)) return record.driver;
  } catch {
    // no record yet, or unreadable: probe
  }
  const driver = await probeDriver(mapping, join(storeRoot, 'tmp'));
  try {
    // A cache: lost on a power loss, it is probed again.
    writeFileAtomicSync(recordPath, JSON.stringify({ kernel: release(), driver } satisfies ProbeRecord), { durable: false });
  } catch (error) {
    throw new DevboxError(`cannot record the storage probe in ${recordPath}: ${(error as Error).message}`, { cause: error });
  }
  return driver;
}
