/**
 * -m, --cpus, --cpu-shares, --pids-limit for real: written to the container's own cgroup where a cgroup v2
 * subtree with those controllers is delegated to the user, else one warning line and the container runs
 * without them (podman's behaviour on cgroup v1); inspect shows the values either way; bad values are one line
 * and nothing is made. Which branch runs follows this machine (runtime/cgroups.ts probeCgroups, unit-tested on
 * fake trees in cgroups.test).
 */
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { devbox, devboxOk } from '../helpers/cli.js';
import { assertOneLineFailure } from '../helpers/errors.js';
import { importBusybox } from '../helpers/images.js';
import { test } from '../helpers/test.js';
import { containerCgroupPath, limitsUnsupported, probeCgroups } from '../../src/runtime/cgroups.js';
import { parseLimits } from '../../src/runtime/resource-limits.js';

const IMAGE = 'limits-busybox:latest';
const LIMITS = ['-m', '64m', '--cpus', '0.5', '--cpu-shares', '512', '--pids-limit', '100'];
const support = probeCgroups();
const unsupported = limitsUnsupported(parseLimits({ memory: '64m', cpus: '0.5', cpuShares: '512', pidsLimit: '100' }), support);
const started: string[] = [];

test.before(async () => {
  await importBusybox(IMAGE);
});

test.after(async () => {
  for (const id of started) await devbox(['rm', '-f', id]);
});

test('run with limits: enforced in the container’s cgroup where delegated, else one warning line and it runs', async () => {
  const result = await devbox(['run', '--rm', ...LIMITS, IMAGE, 'cat', '/proc/self/cgroup']);
  assert.is(result.exitCode, 0, result.stderr);
  if (unsupported) {
    assert.is(result.stderr, `devbox: warning: ${unsupported}\n`);
    assert.match(result.stderr, /--memory, --cpus, --cpu-shares, --pids-limit ignored: resource limits need a cgroup v2 subtree delegated to you/);
    return;
  }
  assert.is(result.stderr, '');
  assert.match(result.stdout, /devbox-[0-9a-f]{12}/);
});

test('a detached container: inspect shows the limits in HostConfig; where delegated, its cgroup files hold them', async () => {
  const id = (await devboxOk(['run', '-d', ...LIMITS, IMAGE, 'sleep', '300'])).stdout.trim();
  started.push(id);
  const host = JSON.parse((await devboxOk(['inspect', '-f', '{{json .HostConfig}}', id])).stdout);
  assert.equal([host.Memory, host.NanoCpus, host.CpuShares, host.PidsLimit, host.MemorySwap, host.CpusetCpus], [67108864, 500000000, 512, 100, 0, '']);
  if (unsupported) return;
  const dir = containerCgroupPath(support, id)!;
  assert.is(readFileSync(join(dir, 'memory.max'), 'utf8').trim(), '67108864');
  assert.is(readFileSync(join(dir, 'pids.max'), 'utf8').trim(), '100');
  assert.is(readFileSync(join(dir, 'cpu.max'), 'utf8').trim(), '50000 100000');
  const pid = JSON.parse((await devboxOk(['inspect', '-f', '{{json .State.Pid}}', id])).stdout);
  assert.match(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`devbox-${id.slice(0, 12)}`));
  // What exec runs is in the container's cgroup too (podman's exec).
  const exec = await devboxOk(['exec', id, 'cat', '/proc/self/cgroup']);
  assert.match(exec.stdout, new RegExp(`devbox-${id.slice(0, 12)}`));
});

test('a container without limits: no warning, docker’s zero values in inspect', async () => {
  const id = (await devboxOk(['create', IMAGE, 'true'])).stdout.trim();
  started.push(id);
  const host = JSON.parse((await devboxOk(['inspect', '-f', '{{json .HostConfig}}', id])).stdout);
  assert.equal([host.Memory, host.NanoCpus, host.CpuShares, host.PidsLimit], [0, 0, 0, null]);
});

test('bad limit values: one line each, status 125, no container made', async () => {
  const before = (await devboxOk(['ps', '-a', '-q', '--no-trunc'])).stdout;
  const cases: [string[], RegExp][] = [
    [['-m', 'lots'], /^devbox: --memory: invalid size "lots"/],
    [['-m', '1k'], /^devbox: --memory: 1k is below the minimum memory limit of 6MB/],
    [['--cpus', '0'], /^devbox: --cpus: "0" is out of range/],
    [['--pids-limit', 'many'], /^devbox: --pids-limit: expected a whole number/],
    [['--memory-swap', '1g'], /^devbox: --memory-swap needs --memory/],
  ];
  for (const [args, message] of cases) assertOneLineFailure(await devbox(['run', '-d', ...args, IMAGE, 'true']), message, 125);
  assert.is((await devboxOk(['ps', '-a', '-q', '--no-trunc'])).stdout, before);
});

test.run();
