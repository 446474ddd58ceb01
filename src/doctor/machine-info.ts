/**
 * The facts behind `devbox info`: what this store and machine give containers. Each fact comes from the code
 * that acts on it (the storage choice `devbox run` makes, the id map it applies, the programs it starts), so
 * info says what a run would do, not a second guess.
 */
import { readFileSync } from 'node:fs';
import { cpus, hostname, machine, release, totalmem } from 'node:os';
import { isRunning, listContainers } from '../container/lookup.js';
import { ImageStore } from '../image/store.js';
import { readSettings } from '../settings/settings.js';
import { selectDriver } from '../storage/driver.js';
import { formatIdMap, resolveIdMapping } from '../userns/idmap.js';
import { findProgram } from '../util/programs.js';
import { type CgroupSupport, probeCgroups } from '../runtime/cgroups.js';

export interface MachineInfo {
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  Driver: string;
  /** docker's DockerRootDir: the store. */
  DevboxRootDir: string;
  IdMaps: { UidMap: string; GidMap: string; Subordinate: boolean; Warning?: string };
  /** The default network of `run` and the programs found for it ('' when missing); pasta is reported, not yet used. */
  Network: { Default: string; Slirp4netns: string; Pasta: string };
  CgroupVersion: string;
  CgroupLayout: CgroupSupport['layout'];
  CgroupControllers: string[];
  /** The `run` limits that cgroups would enforce here. */
  Limits: string[];
  CgroupDetail: string;
  KernelVersion: string;
  OperatingSystem: string;
  OSType: string;
  Architecture: string;
  NCPU: number;
  MemTotal: number;
  Name: string;
}

function operatingSystem(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function machineInfo(): Promise<MachineInfo> {
  const settings = readSettings();
  const store = ImageStore.open(settings.storageRoot);
  const { mapping, warning } = resolveIdMapping();
  const containers = listContainers(store.root);
  const running = containers.filter(isRunning).length;
  const cgroups = probeCgroups();
  return {
    Containers: containers.length,
    ContainersRunning: running,
    // Pausing needs a freezer cgroup, which no container gets yet: none is ever paused.
    ContainersPaused: 0,
    ContainersStopped: containers.length - running,
    Images: store.list().length,
    Driver: await selectDriver(settings.storage, store.root, mapping),
    DevboxRootDir: store.root,
    IdMaps: { UidMap: formatIdMap(mapping.uidMap), GidMap: formatIdMap(mapping.gidMap), Subordinate: mapping.full, ...(warning ? { Warning: warning } : {}) },
    Network: { Default: 'slirp4netns', Slirp4netns: findProgram('slirp4netns') ?? '', Pasta: findProgram('pasta') ?? '' },
    CgroupVersion: String(cgroups.version),
    CgroupLayout: cgroups.layout,
    CgroupControllers: cgroups.controllers,
    Limits: cgroups.limits,
    CgroupDetail: cgroups.detail,
    KernelVersion: release(),
    OperatingSystem: operatingSystem(),
    OSType: 'linux',
    Architecture: machine(),
    NCPU: cpus().length,
    MemTotal: totalmem(),
    Name: hostname(),
  };
}
