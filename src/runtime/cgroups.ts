/**
 * What the cgroup hierarchy lets an unprivileged user do: resource limits and the freezer (pause) need a
 * cgroup v2 directory delegated to the user (a systemd user session gives one). cgroup v1 and hybrid
 * machines delegate nothing, so rootless containers get no cgroup there, as with podman.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DevboxError, describeError } from '../util/errors.js';
import { cgroupV2Files, limitControllers, limitFlags, type ResourceLimits } from './resource-limits.js';

const CGROUP2_SUPER_MAGIC = 0x63677270;
const CGROUP_ROOT = '/sys/fs/cgroup';
/** Controllers and the `run` limits each one carries. */
const LIMITS: Record<string, string[]> = {
  memory: ['--memory', '--memory-swap'],
  cpu: ['--cpus', '--cpu-shares'],
  cpuset: ['--cpuset-cpus'],
  pids: ['--pids-limit'],
};

export interface CgroupSupport {
  /** 1 for cgroup v1 and hybrid machines (their controllers are v1), 2 for a unified hierarchy. */
  version: 1 | 2;
  layout: 'v1' | 'hybrid' | 'unified';
  /** The top of the cgroup v2 subtree delegated to the user (owned by them), where containers' cgroups go. */
  delegated?: string;
  /** Controllers its children get (its cgroup.subtree_control). */
  controllers: string[];
  /** The `run` options those controllers would carry; empty where nothing is delegated. */
  limits: string[];
  /** Why limits and the freezer are (not) available, in one sentence. */
  detail: string;
}

function ownCgroupV2(root: string): string | undefined {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    return line ? join(root, line.slice(3)) : undefined;
  } catch {
    return undefined;
  }
}

/** What the delegation search reads of a cgroup v2 tree (the real one, or a test's). */
export interface CgroupTree {
  /** The directory or file is the caller's: delegated to them (the kernel's delegation is by ownership). */
  owned(path: string): boolean;
  read(path: string): string | undefined;
}

const realTree: CgroupTree = {
  owned: (path) => {
    try {
      return statSync(path).uid === process.getuid!();
    } catch {
      return false;
    }
  },
  read: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
};

/**
 * The delegated subtree the caller's cgroup `own` is in: the highest ancestor (or `own` itself) that, with its
 * cgroup.procs, is the caller's — as a systemd user session delegates user@UID.service. A process may be moved
 * between two cgroups only by one that may write cgroup.procs of their common ancestor, so a container's cgroup
 * made below it can take the container's processes. Its cgroup.subtree_control lists the controllers its
 * children get. Undefined when not even `own` is the caller's.
 */
export function findDelegation(tree: CgroupTree, root: string, own: string): { dir: string; controllers: string[] } | undefined {
  let found: string | undefined;
  for (let dir = own; dir.startsWith(root); dir = dirname(dir)) {
    if (!tree.owned(dir) || !tree.owned(join(dir, 'cgroup.procs'))) break;
    found = dir;
    if (dir === root) break;
  }
  if (!found) return undefined;
  const controllers = (tree.read(join(found, 'cgroup.subtree_control')) ?? '').trim().split(/\s+/).filter(Boolean);
  return { dir: found, controllers };
}

export function probeCgroups(root = CGROUP_ROOT, tree = realTree): CgroupSupport {
  let unified = false;
  try {
    unified = statfsSync(root).type === CGROUP2_SUPER_MAGIC;
  } catch {
    // no /sys/fs/cgroup: read as cgroup v1 with nothing delegated
  }
  if (!unified) {
    const layout = existsSync(join(root, 'unified')) ? 'hybrid' : 'v1';
    return {
      version: 1,
      layout,
      controllers: [],
      limits: [],
      detail: `cgroup ${layout === 'hybrid' ? 'v1/v2 hybrid' : 'v1'}: no cgroup is delegated to unprivileged users, so rootless containers get none (no limits, no pause)`,
    };
  }
  const own = ownCgroupV2(root);
  const delegation = own ? findDelegation(tree, root, own) : undefined;
  if (!delegation)
    return { version: 2, layout: 'unified', controllers: [], limits: [], detail: `cgroup v2, but your cgroup ${own ?? '(unknown)'} is not delegated to you` };
  const { dir: delegated, controllers } = delegation;
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

/**
 * Where the limits can be enforced: undefined, or the one line that says why not (podman's warning on a
 * cgroup v1 machine), naming the options that will not be.
 */
export function limitsUnsupported(limits: ResourceLimits, support: CgroupSupport): string | undefined {
  const wanted = limitControllers(limits);
  if (!wanted.length) return undefined;
  const missing = wanted.filter((c) => !support.controllers.includes(c));
  if (!missing.length && support.delegated) return undefined;
  const why = support.delegated ? `${support.delegated} does not give its children the ${missing.join(', ')} controller` : support.detail;
  return `${limitFlags(limits).join(', ')} ignored: resource limits need a cgroup v2 subtree delegated to you, and ${why}; running without them (see devbox doctor)`;
}

/** The container's cgroup: a child of the delegated subtree, named after it. */
export function containerCgroupPath(support: CgroupSupport, id: string): string | undefined {
  return support.delegated ? join(support.delegated, `devbox-${id.slice(0, 12)}`) : undefined;
}

/**
 * Makes the container's cgroup (again, at every start) and writes its limits; the helper moves pid 1 into it
 * (--cgroup). Undefined where limits cannot be enforced (create warned already).
 */
export function prepareContainerCgroup(id: string, limits: ResourceLimits | undefined): string | undefined {
  if (!limits || !limitControllers(limits).length) return undefined; // no probe on the usual start
  const support = probeCgroups();
  if (limitsUnsupported(limits, support)) return undefined;
  const dir = containerCgroupPath(support, id)!;
  try {
    mkdirSync(dir, { recursive: true });
    for (const [file, value] of cgroupV2Files(limits)) writeFileSync(join(dir, file), value);
  } catch (error) {
    throw new DevboxError(`cannot set the container's limits in ${dir}: ${describeError(error)}`, { fix: 'see "devbox doctor" for the cgroups here' });
  }
  return dir;
}

/**
 * The cgroup a started container with limits is in (what prepareContainerCgroup made), for the processes an
 * exec adds to it; undefined for a container without limits, with no probe of the machine.
 */
export function runningContainerCgroup(id: string, limits: ResourceLimits | undefined): string | undefined {
  if (!limits || !limitControllers(limits).length) return undefined;
  const dir = containerCgroupPath(probeCgroups(), id);
  return dir && existsSync(dir) ? dir : undefined;
}

/** Removes the container's cgroup, once it is empty (its processes gone); an absent one is fine. */
export function removeContainerCgroup(id: string, support = probeCgroups()): void {
  const dir = containerCgroupPath(support, id);
  if (!dir) return;
  try {
    rmdirSync(dir);
  } catch {
    // absent, or a process of it still ends: the kernel keeps it until then
  }
}
