/**
 * `devbox doctor`: what a rootless sandbox needs from this machine, each check with the exact fix.
 * Checks that matter for every run are `required`; the rest say what is lost without them.
 */
import { readFileSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { readSettings } from '../settings/settings.js';
import { probeKernelOverlay } from '../storage/driver.js';
import { fuseDeviceUsable } from '../storage/fuse-overlayfs.js';
import { CGROUP_FIX, probeCgroups } from '../runtime/cgroups.js';
import { helperPath } from '../runtime/helper.js';
import { probeUserNamespace } from '../runtime/namespace.js';
import { freeSubordinateLine, parseSubordinateRanges, projectIdMapping, type IdMapping } from '../userns/idmap.js';
import { describeError } from '../util/errors.js';
import { findProgram } from '../util/programs.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  required: boolean;
  detail: string;
  fix?: string;
}

function readSysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

async function checkHelper(): Promise<CheckResult> {
  try {
    return { name: 'native helper', ok: true, required: true, detail: helperPath() };
  } catch (error) {
    return { name: 'native helper', ok: false, required: true, detail: describeError(error), fix: 'npm run build (needs gcc, make and libseccomp-dev)' };
  }
}

async function checkUserNamespaces(): Promise<CheckResult> {
  const name = 'user namespaces';
  const sysctls: [string, string, string][] = [
    ['/proc/sys/user/max_user_namespaces', '0', 'sysctl -w user.max_user_namespaces=28633'],
    ['/proc/sys/kernel/unprivileged_userns_clone', '0', 'sysctl -w kernel.unprivileged_userns_clone=1'],
    ['/proc/sys/kernel/apparmor_restrict_unprivileged_userns', '1', 'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0'],
  ];
  for (const [path, bad, fix] of sysctls) {
    if (readSysctl(path) === bad && process.getuid!() !== 0) return { name, ok: false, required: true, detail: `${path} is ${bad}`, fix: `as root: ${fix}` };
  }
  const self = [{ inside: 0, outside: process.getuid!(), count: 1 }];
  const gself = [{ inside: 0, outside: process.getgid!(), count: 1 }];
  const mapping: IdMapping = { uidMap: self, gidMap: gself, uid: 0, gid: 0, full: false };
  try {
    const probe = await probeUserNamespace(mapping);
    if (probe.ok) return { name, ok: true, required: true, detail: 'an unprivileged user namespace can be created' };
    return { name, ok: false, required: true, detail: probe.reason, fix: 'enable unprivileged user namespaces in the kernel' };
  } catch (error) {
    return { name, ok: false, required: true, detail: describeError(error) };
  }
}

function checkSubordinateIds(): CheckResult[] {
  if (process.getuid!() === 0) return [{ name: 'subordinate ids', ok: true, required: false, detail: 'root maps ids 0-65535 to themselves' }];
  const user = userInfo().username;
  const read = (kind: string) => {
    try {
      return readFileSync(`/etc/${kind}`, 'utf8');
    } catch {
      return ''; // treated as empty
    }
  };
  // One range for both files, past every range either gives out: it collides with no other user's.
  const line = freeSubordinateLine(`${read('subuid')}\n${read('subgid')}`, user);
  return ['subuid', 'subgid'].map((kind) => {
    const ranges = parseSubordinateRanges(read(kind), user, process.getuid!());
    const total = ranges.reduce((n, r) => n + r.count, 0);
    return ranges.length
      ? { name: `/etc/${kind}`, ok: true, required: false, detail: `${total} ids for ${user}` }
      : {
          name: `/etc/${kind}`,
          ok: false,
          required: false,
          detail: `no range for ${user}: only a single-id map (root inside = you) is possible`,
          fix: `as root: echo "${line}" >> /etc/${kind}  (a range no other user has)`,
        };
  });
}

function checkSetuidProgram(program: string): CheckResult {
  const path = findProgram(program);
  if (!path) return { name: program, ok: false, required: true, detail: 'not found', fix: 'apt-get install uidmap' };
  const st = statSync(path);
  const setuid = (st.mode & 0o4000) !== 0 && st.uid === 0;
  return setuid
    ? { name: program, ok: true, required: true, detail: `${path} (setuid root)` }
    : {
        name: program,
        ok: true,
        required: true,
        detail: `${path} is not setuid root; it needs file capabilities cap_set${program === 'newuidmap' ? 'uid' : 'gid'}+ep`,
      };
}

async function checkFullMapping(mapping: IdMapping): Promise<CheckResult> {
  const name = 'full id mapping';
  if (!mapping.full) return { name, ok: false, required: false, detail: 'skipped: no subordinate ids' };
  const probe = await probeUserNamespace(mapping);
  return probe.ok
    ? { name, ok: true, required: true, detail: process.getuid!() === 0 ? 'the id map was applied' : 'newuidmap/newgidmap accepted the keep-id map' }
    : {
        name,
        ok: false,
        required: true,
        detail: probe.reason,
        fix: 'check /etc/subuid, /etc/subgid and that newuidmap is setuid root (apt-get install --reinstall uidmap)',
      };
}

async function checkOverlay(mapping: IdMapping): Promise<CheckResult> {
  const ok = await probeKernelOverlay(mapping, tmpdir());
  return ok
    ? { name: 'overlayfs in a user namespace', ok, required: false, detail: 'kernel overlay works (storage "native")' }
    : {
        name: 'overlayfs in a user namespace',
        ok,
        required: false,
        detail: 'the kernel refuses it: devbox uses fuse-overlayfs, else copies layers',
        fix: 'Linux ≥ 5.11 mounts overlay in a user namespace',
      };
}

function checkFuse(): CheckResult {
  const program = findProgram('fuse-overlayfs');
  if (!program)
    return { name: 'fuse-overlayfs', ok: false, required: false, detail: 'not found (storage "fuse" unavailable)', fix: 'apt-get install fuse-overlayfs' };
  if (!fuseDeviceUsable())
    return { name: 'fuse-overlayfs', ok: false, required: false, detail: '/dev/fuse is not readable and writable by you', fix: 'as root: chmod 666 /dev/fuse' };
  return { name: 'fuse-overlayfs', ok: true, required: false, detail: `${program}, /dev/fuse usable` };
}

function checkSlirp(): CheckResult {
  const program = findProgram('slirp4netns');
  return program
    ? { name: 'slirp4netns', ok: true, required: false, detail: program }
    : {
        name: 'slirp4netns',
        ok: false,
        required: false,
        detail: 'not found: the default network is unavailable (--network host still works)',
        fix: 'apt-get install slirp4netns',
      };
}

function checkCgroups(): CheckResult {
  const cgroups = probeCgroups();
  return cgroups.limits.length
    ? { name: 'cgroups', ok: true, required: false, detail: `${cgroups.detail}: ${cgroups.limits.join(' ')} could be enforced` }
    : { name: 'cgroups', ok: false, required: false, detail: `${cgroups.detail}; containers run without them`, fix: CGROUP_FIX };
}

function checkStore(): CheckResult {
  try {
    const settings = readSettings();
    return { name: 'settings', ok: true, required: true, detail: `store at ${settings.storageRoot}, storage "${settings.storage}"` };
  } catch (error) {
    return { name: 'settings', ok: false, required: true, detail: describeError(error) };
  }
}

export async function runChecks(): Promise<CheckResult[]> {
  const helper = await checkHelper();
  const results: CheckResult[] = [checkStore(), helper];
  if (!helper.ok) return results;
  // The map of devbox's main job, project sandboxes: a container's default needs the same tools and ranges.
  const { mapping } = projectIdMapping();
  results.push(await checkUserNamespaces(), ...checkSubordinateIds());
  if (mapping.full && process.getuid!() !== 0) results.push(checkSetuidProgram('newuidmap'), checkSetuidProgram('newgidmap'));
  results.push(await checkFullMapping(mapping), await checkOverlay(mapping), checkFuse(), checkSlirp(), checkCgroups());
  return results;
}
