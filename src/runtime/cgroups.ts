/**
 * What the cgroup hierarchy lets an unprivileged user do: resource limits and the freezer (pause) need a
 * cgroup v2 directory delegated to the user (a systemd user session gives one). cgroup v1 and hybrid
 * machines delegate nothing, so rootless containers get no cgroup there, as with podman.
 */
import { accessSync, constants, existsSync, readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP2_SUPER_MAGIC = 0x63677270;
const CGROUP_ROOT = '/sys/fs/cgroup';
/** Controllers and the `run` limits each one carries. */
const LIMITS: Record<string, string[]> = {
  memory: ['--memory', '--memory-swap'],
  cpu: ['--cpus'],
  cpuset: ['--cpuset-cpus'],
  pids: ['--pids-limit'],
};

export interface CgroupSupport {
  /** 1 for cgroup v1 and hybrid machines (their controllers are v1), 2 for a unified hierarchy. */
  version: 1 | 2;
  layout: 'v1' | 'hybrid' | 'unified';
  /** The user's own cgroup v2 directory, when it is writable (delegated). */
  delegated?: string;
  /** Controllers enabled in the delegated cgroup. */
  controllers: string[];
  /** The `run` options those controllers would carry; empty where nothing is delegated. */
  limits: string[];
  /** Why limits and the freezer are (not) available, in one sentence. */
  detail: string;
}

function ownCgroupV2(): string | undefined {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    return line ? join(CGROUP_ROOT, line.slice(3)) : undefined;
  } catch {
    return undefined;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function probeCgroups(): CgroupSupport {
  let unified = false;
  try {
    unified = statfsSync(CGROUP_ROOT).type === CGROUP2_SUPER_MAGIC;
  } catch {
    // no /sys/fs/cgroup: read as cgroup v1 with nothing delegated
  }
  if (!unified) {
    const layout = existsSync(join(CGROUP_ROOT, 'unified')) ? 'hybrid' : 'v1';
    return {
      version: 1,
      layout,
      controllers: [],
      limits: [],
      detail: `cgroup ${layout === 'hybrid' ? 'v1/v2 hybrid' : 'v1'}: no cgroup is delegated to unprivileged users, so rootless containers get none (no limits, no pause)`,
    };
  }
  const own = ownCgroupV2();
  const delegated = own && writable(own) && writable(join(own, 'cgroup.subtree_control')) ? own : undefined;
  if (!delegated)
    return { version: 2, layout: 'unified', controllers: [], limits: [], detail: `cgroup v2, but your cgroup ${own ?? '(unknown)'} is not delegated to you` };
  let controllers: string[] = [];
  try {
    controllers = readFileSync(join(delegated, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    // an unreadable list reads as no controllers
  }
  const limits = controllers.flatMap((c) => LIMITS[c] ?? []);
  return {
    version: 2,
    layout: 'unified',
    delegated,
    controllers,
    limits,
    detail: `cgroup v2, ${delegated} delegated with ${controllers.join(' ') || 'no controllers'}`,
  };
}

/** The fix for a machine whose cgroups give rootless containers nothing. */
export const CGROUP_FIX =
  'boot with cgroup v2 only (systemd.unified_cgroup_hierarchy=1) and log in through a systemd user session, which delegates a cgroup to you';
