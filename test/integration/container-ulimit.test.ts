/**
 * --ulimit for real: limits a container's command gets (set by the helper with setrlimit), kept in the record
 * so exec and a restart get them too, shown by inspect; a hard limit above the caller's own, an unknown name or
 * a soft limit above the hard one is refused in one line before anything is created.
 */
import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { importBusybox } from '../helpers/images.js';
import { test } from '../helpers/test.js';

const IMAGE = 'ulimit-busybox:latest';
const started: string[] = [];

/** This process's own hard limit on open files: what a rootless container cannot exceed. */
function ownHardNofile(): number {
  const row = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'))!;
  return Number(row.slice(26).trim().split(/\s+/)[1]);
}

test.before(async () => {
  await importBusybox(IMAGE);
});

test.after(async () => {
  for (const id of started) await devbox(['rm', '-f', id]);
});

test('run --ulimit: the command has the soft and hard limits asked for; HARD defaults to SOFT; -1 is unlimited', async () => {
  const out = await devboxOk([
    'run',
    '--rm',
    '--ulimit',
    'nofile=100:200',
    '--ulimit',
    'core=0',
    '--ulimit',
    'stack=-1',
    IMAGE,
    'sh',
    '-c',
    'ulimit -n; ulimit -Hn; ulimit -c; ulimit -Hs',
  ]);
  assert.is(out.stdout, '100\n200\n0\nunlimited\n');
  const single = await devboxOk(['run', '--rm', '--ulimit', 'nproc=300', IMAGE, 'sh', '-c', 'ulimit -u; ulimit -Hu']);
  assert.is(single.stdout, '300\n300\n');
});

test('a detached container keeps its limits for exec and after a restart; inspect shows them', async () => {
  const id = (await devboxOk(['run', '-d', '--ulimit', 'nofile=64:128', IMAGE, 'sleep', '300'])).stdout.trim();
  started.push(id);
  assert.is((await devboxOk(['exec', id, 'sh', '-c', 'ulimit -n; ulimit -Hn'])).stdout, '64\n128\n');
  assert.is((await devboxOk(['inspect', '-f', '{{json .HostConfig.Ulimits}}', id])).stdout.trim(), '[{"Name":"nofile","Soft":64,"Hard":128}]');
  await devboxOk(['restart', '-t', '0', id]);
  assert.is((await devboxOk(['exec', id, 'sh', '-c', 'ulimit -n'])).stdout, '64\n');
});

test('bad --ulimit values: one line each, status 125, no container made', async () => {
  const before = (await devboxOk(['ps', '-a', '-q', '--no-trunc'])).stdout;
  const own = ownHardNofile();
  const cases: [string, RegExp][] = [
    ['bogus=1', /^devbox: invalid --ulimit "bogus=1"/],
    ['nofile=5:4', /^devbox: --ulimit nofile=5:4: the soft limit is above the hard one/],
    ['nofile=ten', /^devbox: --ulimit nofile=ten: "ten" is not a whole number/],
    [`nofile=10:${own + 1}`, new RegExp(`^devbox: --ulimit nofile: the hard limit ${own + 1} is above yours \\(${own}\\)`)],
  ];
  for (const [spec, message] of cases) {
    const result = await devbox(['run', '-d', '--ulimit', spec, IMAGE, 'true']);
    assert.is(result.exitCode, 125, spec);
    assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, message);
  }
  assert.is((await devboxOk(['ps', '-a', '-q', '--no-trunc'])).stdout, before);
});

test.run();
