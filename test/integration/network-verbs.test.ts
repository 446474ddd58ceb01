/**
 * `devbox network` create, ls, inspect, rm and prune through the CLI, as a user runs them: Docker's output
 * shapes, and one line with a non-zero status for each bad input.
 */
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';

const created: string[] = [];
async function create(...args: string[]): Promise<string> {
  const r = await devboxOk(['network', 'create', ...args]);
  created.push(args[args.length - 1]);
  return r.stdout.trim();
}

test.after(async () => {
  await devbox(['network', 'rm', '-f', ...created]);
});

test('create prints the id; ls lists bridge first and the new networks; inspect shows their subnet, gateway and labels', async () => {
  const id = await create('--label', 'team=web', 'verbs-a');
  assert.match(id, /^[0-9a-f]{64}$/);
  await create('--subnet', '10.123.0.0/24', '--internal', 'verbs-b');
  const ls = await devboxOk(['network', 'ls']);
  const lines = ls.stdout.trim().split('\n');
  assert.match(lines[0], /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
  assert.match(lines[1], /^[0-9a-f]{12}\s+bridge\s+bridge\s+local$/);
  assert.ok(
    lines.some((l) => l.startsWith(`${id.slice(0, 12)}   verbs-a`)),
    ls.stdout,
  );
  const json = (await devboxOk(['network', 'ls', '--format', 'json'])).stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const b = json.find((n) => n.Name === 'verbs-b');
  assert.equal([b.Subnet, b.Internal, b.Driver], ['10.123.0.0/24', 'true', 'bridge']);
  const quiet = await devboxOk(['network', 'ls', '-q', '--no-trunc', '--filter', 'label=team=web']);
  assert.is(quiet.stdout, `${id}\n`);
  const inspect = JSON.parse((await devboxOk(['network', 'inspect', 'verbs-a', id.slice(0, 12)])).stdout);
  assert.is(inspect.length, 2);
  assert.equal(inspect[0].Labels, { team: 'web' });
  assert.is(inspect[0].Id, id);
  assert.equal(inspect[0].IPAM.Config[0].Gateway.split('.').slice(-1), ['1']);
  const fields = await devboxOk(['network', 'inspect', '-f', '{{.Internal}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}', 'verbs-b']);
  assert.is(fields.stdout, 'true 10.123.0.0/24 10.123.0.1\n');
});

test('bad input: a taken name, an overlapping subnet, an unknown network, the predefined bridge — one line each', async () => {
  await create('--subnet', '10.124.0.0/24', 'verbs-c');
  const cases: [string[], RegExp, number][] = [
    [['network', 'create', 'verbs-c'], /^devbox: network with name verbs-c already exists/, 125],
    [
      ['network', 'create', '--subnet', '10.124.0.128/25', 'verbs-d'],
      /^devbox: subnet 10\.124\.0\.128\/25 overlaps network verbs-c \(10\.124\.0\.0\/24\)/,
      125,
    ],
    [['network', 'inspect', 'verbs-nope'], /^devbox: network verbs-nope not found/, 1],
    [['network', 'rm', 'verbs-nope'], /^devbox: network verbs-nope not found/, 1],
    [['network', 'rm', 'bridge'], /^devbox: bridge is a pre-defined network and cannot be removed/, 125],
    [['network', 'create', '--driver', 'macvlan', 'verbs-e'], /^devbox: unsupported network driver "macvlan"/, 125],
  ];
  for (const [args, message, status] of cases) {
    const r = await devbox(args);
    assert.is(r.exitCode, status, args.join(' '));
    assert.match(r.stderr, message);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.is((await devbox(['network', 'ls', '-q', '--filter', 'name=verbs-d'])).stdout, '', 'a refused create wrote nothing');
});

test('rm removes what exists and reports the rest; -f ignores missing ones; prune removes every unused custom network', async () => {
  await create('verbs-f');
  await create('verbs-g');
  const rm = await devbox(['network', 'rm', 'verbs-f', 'verbs-missing']);
  assert.is(rm.exitCode, 1);
  assert.is(rm.stdout, 'verbs-f\n');
  assert.match(rm.stderr, /network verbs-missing not found/);
  assert.is((await devboxOk(['network', 'rm', '-f', 'verbs-missing'])).stdout, '');
  const prune = await devboxOk(['network', 'prune', '-f']);
  assert.match(prune.stdout, /^Deleted Networks:\n/);
  assert.match(prune.stdout, /^verbs-g$/m);
  const left = (await devboxOk(['network', 'ls', '--format', '{{.Name}}'])).stdout;
  assert.is(left, 'bridge\n');
});

test.run();
