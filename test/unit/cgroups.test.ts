import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { findDelegation, limitsUnsupported, type CgroupSupport, type CgroupTree } from '../../src/runtime/cgroups.js';
import { cgroupV2Files, limitControllers, parseBytes, parseLimits } from '../../src/runtime/resource-limits.js';

/** A cgroup v2 tree as a systemd user session leaves it: user@1000.service and below are the user's. */
function tree(owned: readonly string[], files: Record<string, string>): CgroupTree {
  return { owned: (path) => owned.some((dir) => path === dir || path === `${dir}/cgroup.procs`), read: (path) => files[path] };
}

const ROOT = '/cg';
const SERVICE = `${ROOT}/user.slice/user-1000.slice/user@1000.service`;
const SHELL = `${SERVICE}/app.slice/shell.scope`;

test('the delegated subtree is the highest ancestor the user owns; its subtree_control lists what children get', () => {
  const t = tree([SERVICE, `${SERVICE}/app.slice`, SHELL], { [`${SERVICE}/cgroup.subtree_control`]: 'cpu memory pids\n' });
  assert.equal(findDelegation(t, ROOT, SHELL), { dir: SERVICE, controllers: ['cpu', 'memory', 'pids'] });
});

test('no delegation: the own cgroup is not the user’s (a login without a systemd user session)', () => {
  assert.is(findDelegation(tree([], {}), ROOT, SHELL), undefined);
  // A directory the user owns whose cgroup.procs is root's is not delegated either.
  const half: CgroupTree = { owned: (path) => path === SHELL, read: () => undefined };
  assert.is(findDelegation(half, ROOT, SHELL), undefined);
});

test('root owns the whole tree: its delegation is the root cgroup', () => {
  const all: CgroupTree = { owned: () => true, read: (path) => (path === `${ROOT}/cgroup.subtree_control` ? 'cpuset cpu io memory pids' : undefined) };
  assert.equal(findDelegation(all, ROOT, SHELL)?.dir, ROOT);
});

const support = (over: Partial<CgroupSupport>): CgroupSupport => ({ version: 2, layout: 'unified', controllers: [], limits: [], detail: 'd', ...over });

test('limits are unsupported, in one line naming the options, unless the delegation gives their controllers', () => {
  const limits = parseLimits({ memory: '64m', pidsLimit: '100' }, 4);
  assert.equal(limitControllers(limits), ['memory', 'pids']);
  assert.is(limitsUnsupported(limits, support({ delegated: SERVICE, controllers: ['memory', 'pids'] })), undefined);
  assert.match(
    limitsUnsupported(limits, support({ delegated: SERVICE, controllers: ['memory'] }))!,
    /^--memory, --pids-limit ignored: .* does not give its children the pids controller; running without them/,
  );
  const hybrid = support({ version: 1, layout: 'hybrid', detail: 'cgroup v1/v2 hybrid: no cgroup is delegated to unprivileged users' });
  assert.match(limitsUnsupported(limits, hybrid)!, /ignored: resource limits need a cgroup v2 subtree delegated to you, and cgroup v1\/v2 hybrid/);
  assert.is(limitsUnsupported({}, hybrid), undefined);
});

test('docker values become cgroup v2 files: memory.max, memory.swap.max, cpu.max, cpu.weight, pids.max, cpuset.cpus', () => {
  const limits = parseLimits({ memory: '512m', memorySwap: '1g', cpus: '1.5', cpuShares: '1024', pidsLimit: '0', cpusetCpus: '0-1' }, 4);
  assert.equal(limits, { Memory: 536870912, MemorySwap: 1073741824, NanoCpus: 1.5e9, CpuShares: 1024, PidsLimit: -1, CpusetCpus: '0-1' });
  assert.equal(cgroupV2Files(limits), [
    ['memory.max', '536870912'],
    ['memory.swap.max', '536870912'],
    ['cpu.max', '150000 100000'],
    ['cpu.weight', '39'],
    ['pids.max', 'max'],
    ['cpuset.cpus', '0-1'],
  ]);
  assert.equal(cgroupV2Files(parseLimits({ memory: '1g', memorySwap: '-1' }, 1)), [
    ['memory.max', '1073741824'],
    ['memory.swap.max', 'max'],
  ]);
  assert.is(parseBytes('1.5GiB', '-m'), 1610612736);
});

test('bad limit values are refused as docker refuses them', () => {
  const cases: [Parameters<typeof parseLimits>[0], RegExp][] = [
    [{ memory: 'lots' }, /--memory: invalid size "lots"/],
    [{ memory: '1m' }, /below the minimum memory limit of 6MB/],
    [{ memorySwap: '1g' }, /--memory-swap needs --memory/],
    [{ memory: '1g', memorySwap: '512m' }, /--memory-swap is below --memory/],
    [{ cpus: '0' }, /--cpus: "0" is out of range: from 0.01 to 2/],
    [{ cpus: '3' }, /out of range/],
    [{ cpus: 'abc' }, /^--cpus: expected a number of CPUs, not "abc"$/],
    [{ cpuShares: '1' }, /--cpu-shares: expected a whole number from 2 to 262144/],
    [{ pidsLimit: 'ten' }, /--pids-limit: expected a whole number/],
    [{ cpusetCpus: '0-5' }, /--cpuset-cpus: "0-5" is not a list of CPUs 0 to 1/],
    [{ cpusetCpus: '1-0' }, /is not a list of CPUs/],
  ];
  for (const [options, message] of cases) assert.throws(() => parseLimits(options, 2), message);
});

test.run();
