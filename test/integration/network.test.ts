/**
 * Sandbox networks with real slirp4netns, as the unprivileged user running the suite: the isolated network's
 * interface, routes, resolver and hosts file, DNS through slirp4netns to a resolver on this machine's
 * loopback (through 10.0.2.3 as root, 10.0.2.2 rootless), `none` and `host`, and slirp4netns's lifetime.
 * All traffic stays on loopback.
 */
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { helperPath, idMapArgs } from '../../src/runtime/helper.js';
import { resolveIdMapping } from '../../src/userns/idmap.js';
import { DEVBOX_BIN, devbox, devboxOk } from '../helpers/cli.js';
import { startDnsResponder } from '../helpers/dns-responder.js';
import { testDir } from '../helpers/images.js';
import { isAlive } from '../../src/util/processes.js';
import { eventually, importNetworkImage, slirpChildren, startSandbox } from '../helpers/network.js';
import { startedSince, suiteProcesses, type SuiteProcess } from '../helpers/processes.js';

const IMAGE = 'netbox:latest';
const execFileAsync = promisify(execFile);
const containersDir = () => join(process.env.XDG_DATA_HOME!, 'devbox', 'containers');
const containers = () => (existsSync(containersDir()) ? readdirSync(containersDir()) : []);

test.before(async () => {
  await importNetworkImage(IMAGE);
});

let slirpBefore: SuiteProcess[] = [];
test.before.each(() => {
  slirpBefore = suiteProcesses('slirp4netns');
});
test.after.each(() => {
  assert.equal(startedSince(slirpBefore, 'slirp4netns'), [], 'a slirp4netns of this test outlived its sandbox');
});

test("the default network is slirp4netns: tap0 with MTU 65520, a route via 10.0.2.2, slirp's resolver, the name in hosts", async () => {
  const r = await devboxOk([
    'run',
    '--rm',
    '--hostname',
    'box1',
    IMAGE,
    'sh',
    '-c',
    'ls /sys/class/net; cat /sys/class/net/tap0/mtu; ip -4 addr show tap0; ip route; cat /etc/resolv.conf /etc/hosts',
  ]);
  const out = r.stdout;
  assert.match(out, /^lo\ntap0\n65520\n/);
  assert.match(out, /inet 10\.0\.2\.100\/24/);
  assert.match(out, /^default via 10\.0\.2\.2 dev tap0/m);
  assert.match(out, /^nameserver 10\.0\.2\.3$/m);
  assert.is(out.match(/^nameserver/gm)?.length, 1, "only slirp4netns's resolver");
  assert.match(out, /^10\.0\.2\.100\tbox1$/m);
  assert.not.match(out, /host\.containers\.internal/, 'the host is hidden by default');
});

test('IPv6 inside on slirp4netns (podman enables it too): an address from its router advertisements, a default route, the host through fd00::2', async () => {
  const server = createServer((_, res) => res.end('over-ipv6')).listen(0, '::1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  try {
    // The address comes from a router advertisement and is usable once duplicate address detection is over.
    const ready = 'for i in $(seq 100); do ip -6 addr show tap0 | grep "inet6 fd00:" | grep -qv tentative && break; sleep 0.1; done';
    const r = await devboxOk([
      'run',
      '--rm',
      '--network',
      'slirp:allow_host_loopback=true',
      IMAGE,
      'sh',
      '-c',
      `${ready}; ip -6 addr show tap0; ip -6 route; wget -q -O- "http://[fd00::2]:${port}/"`,
    ]);
    assert.match(r.stdout, /inet6 fd00::[0-9a-f:]+\/64 scope global/);
    assert.match(r.stdout, /^default via fe80::2 dev tap0/m);
    assert.match(r.stdout, /over-ipv6$/);
  } finally {
    server.close();
  }
});

test('--network slirp is slirp4netns; allow_host_loopback=true names the host in hosts', async () => {
  const r = await devboxOk(['run', '--rm', '--network', 'slirp:allow_host_loopback=true', IMAGE, 'sh', '-c', 'ls /sys/class/net; cat /etc/hosts']);
  assert.match(r.stdout, /^lo\ntap0\n/);
  assert.match(r.stdout, /^10\.0\.2\.2\thost\.containers\.internal host\.docker\.internal$/m);
});

test("none has only loopback, up; host sees the host's interfaces", async () => {
  const none = await devboxOk(['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'ls /sys/class/net; ip -4 addr show lo; ip route']);
  assert.match(none.stdout, /^lo\n/);
  assert.match(none.stdout, /inet 127\.0\.0\.1\/8/);
  assert.not.match(none.stdout, /tap0|default/);
  const host = await devboxOk(['run', '--rm', '--network', 'host', IMAGE, 'ls', '/sys/class/net']);
  assert.equal(host.stdout.trim().split('\n'), readdirSync('/sys/class/net').sort());
});

if (process.getuid!() === 0) {
  // Only root can listen on port 53, the only port slirp4netns forwards 10.0.2.3 to, and bind a resolv.conf
  // of the test's over the host's in a mount namespace of devbox's own. The rootless pass checks the same
  // path through 10.0.2.2 below.
  test("DNS as root: the resolver in resolv.conf (10.0.2.3) answers from the host's resolver through slirp4netns", async () => {
    const address = '127.83.0.1';
    const resolver = await startDnsResponder({ 'api.devbox.test': '192.0.2.77' }, { address, port: 53 });
    const dir = await testDir('resolv');
    writeFileSync(join(dir, 'resolv.conf'), `nameserver ${address}\n`);
    try {
      // Asynchronously: the responder answers from this process's event loop.
      const r = await execFileAsync(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          'mount --bind "$0" /etc/resolv.conf && exec "$@"',
          join(dir, 'resolv.conf'),
          process.execPath,
          DEVBOX_BIN,
          'run',
          '--rm',
          IMAGE,
          'sh',
          '-c',
          'cat /etc/resolv.conf; nslookup -type=a api.devbox.test',
        ],
        { encoding: 'utf8' },
      );
      assert.match(r.stdout, /^nameserver 10\.0\.2\.3$/m);
      assert.match(r.stdout, /Server:\s+10\.0\.2\.3/);
      assert.match(r.stdout, /Name:\s+api\.devbox\.test\nAddress: 192\.0\.2\.77/);
      assert.ok(resolver.queries.includes('api.devbox.test'), JSON.stringify(resolver.queries));
    } finally {
      await resolver.close();
    }
  });
}

test("DNS: a name resolves inside through slirp4netns against a resolver on the host's loopback", async () => {
  const resolver = await startDnsResponder({ 'build.devbox.test': '192.0.2.55' });
  try {
    // slirp4netns forwards 10.0.2.2 to the host's 127.0.0.1 only when allowed; the query carries the port,
    // since an unprivileged test cannot listen on 53.
    const server = `10.0.2.2:${resolver.port}`;
    const r = await devboxOk(['run', '--rm', '--network', 'slirp4netns:allow_host_loopback=true', IMAGE, 'nslookup', '-type=a', 'build.devbox.test', server]);
    assert.match(r.stdout, /Name:\s+build\.devbox\.test\nAddress: 192\.0\.2\.55/);
    assert.ok(resolver.queries.includes('build.devbox.test'));
    const hidden = await devbox(['run', '--rm', IMAGE, 'nslookup', '-type=a', 'build.devbox.test', server]);
    assert.is.not(hidden.exitCode, 0, "the host's loopback is hidden by default");
    assert.not.match(hidden.stdout, /192\.0\.2\.55/);
  } finally {
    await resolver.close();
  }
});

test('slirp4netns ends with the sandbox when the command exits, and leaves nothing in the store', async () => {
  const before = containers();
  const sandbox = startSandbox([IMAGE, 'sh', '-c', 'echo ready; read line || true']);
  await sandbox.printed('ready');
  const [slirp] = await slirpChildren(sandbox.child.pid!);
  assert.ok(slirp, 'slirp4netns runs beside the sandbox');
  assert.is(await sandbox.finish(), 0, sandbox.stderr());
  assert.not.ok(isAlive(slirp), 'slirp4netns is gone when devbox returns');
  assert.equal(containers(), before);
});

test('slirp4netns failing to link the namespace: its reason in one line, status 125, the command never run; --rm leaves nothing, -d keeps the container created', async () => {
  const dir = await testDir('failing-slirp');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // Answers the features probe (--help), then fails as slirp4netns does without a usable /dev/net/tun.
  writeFileSync(join(bin, 'slirp4netns'), '#!/bin/sh\n[ "$1" = --help ] && exit 0\necho "open(/dev/net/tun): test refusal" >&2\nexit 1\n', { mode: 0o755 });
  const env = { PATH: `${bin}:${process.env.PATH}` };
  const line = 'devbox: slirp4netns could not set up the network: open(/dev/net/tun): test refusal (see "devbox doctor"; /dev/net/tun must be usable)\n';
  const before = containers();
  const marker = join(dir, 'ran');
  const r = await devbox(['run', '--rm', '-v', `${dir}:/mnt`, IMAGE, 'touch', '/mnt/ran'], { env });
  assert.is(r.exitCode, 125);
  assert.is(r.stderr, line);
  assert.not.ok(existsSync(marker), 'the command did not run');
  assert.equal(containers(), before);
  const d = await devbox(['run', '-d', '--name', 'slirp-refused', '-v', `${dir}:/mnt`, IMAGE, 'touch', '/mnt/ran'], { env });
  try {
    assert.is(d.exitCode, 125);
    assert.is(d.stderr, line);
    assert.not.ok(existsSync(marker), 'the command did not run');
    assert.is((await devboxOk(['ps', '-a', '--filter', 'name=slirp-refused', '--format', '{{.Status}}'])).stdout, 'Created\n');
  } finally {
    await devbox(['rm', '-f', 'slirp-refused']);
  }
});

test("a foreground container's supervisor runs in its directory, not the caller's folder, and slirp4netns's API socket is there", async () => {
  const before = containers();
  const sandbox = startSandbox([IMAGE, 'sh', '-c', 'echo ready; read line || true']);
  try {
    await sandbox.printed('ready');
    const [id] = containers().filter((c) => !before.includes(c));
    const dir = join(containersDir(), id!);
    const children = execFileSync('pgrep', ['-P', String(sandbox.child.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    const supervisor = children.find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('devbox-helper'));
    assert.ok(supervisor, "the supervisor is devbox's child");
    assert.is(readlinkSync(`/proc/${supervisor}/cwd`), dir);
    assert.ok(existsSync(join(dir, 'slirp4netns.sock')), "slirp4netns's API socket is in the container's directory");
  } finally {
    assert.is(await sandbox.finish(), 0, sandbox.stderr());
  }
});

test('slirp4netns ends with the sandbox when devbox is killed with SIGKILL', async () => {
  const sandbox = startSandbox([IMAGE, 'sh', '-c', 'echo ready; sleep 600']);
  await sandbox.printed('ready');
  const [slirp] = await slirpChildren(sandbox.child.pid!);
  assert.ok(slirp, 'slirp4netns runs beside the sandbox');
  sandbox.child.kill('SIGKILL');
  await sandbox.finish();
  await eventually('slirp4netns to exit', () => (isAlive(slirp) ? undefined : true), 5000);
});

test('helper --sync-fd: the pid comes before anything runs; a caller that gives up leaves nothing started', async () => {
  const dir = await testDir('sync');
  const marker = join(dir, 'ran');
  const args = [
    ...idMapArgs(resolveIdMapping().mapping),
    '--unshare-net',
    '--sync-fd',
    '3',
    '--rootfs',
    '/',
    '--bind',
    dir,
    '/mnt',
    '--',
    '/bin/sh',
    '-c',
    'touch /mnt/ran',
  ];
  const helper = spawn(helperPath(), args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  helper.stderr!.on('data', (d) => (stderr += d));
  const sync = helper.stdio[3] as Socket;
  const line = await new Promise<string>((resolve) => sync.once('data', (d: Buffer) => resolve(d.toString())));
  const pid = Number(line.trim());
  assert.match(line, /^\d+\n$/);
  assert.ok(readlinkSync(`/proc/${pid}/ns/net`) !== readlinkSync('/proc/self/ns/net'), 'the pid is in a network namespace of its own');
  sync.destroy();
  const code = await new Promise<number | null>((resolve) => helper.once('close', resolve));
  assert.is(code, 125);
  assert.is(stderr, '', 'the caller says why it gave up');
  assert.not.ok(existsSync(marker), 'the command never ran');
  await eventually("the sandbox's pid 1 to end", () => (isAlive(pid) ? undefined : true), 5000);
  const refused = spawnSync(helperPath(), [...args.slice(0, 5), '--sync-fd', '1', ...args.slice(7)], { encoding: 'utf8' });
  assert.is(refused.status, 125);
  assert.match(refused.stderr, /--sync-fd: 1 is a standard stream/);
});

test('slirp4netns missing: one line naming the package, nothing created', async () => {
  const before = containers();
  const r = await devbox(['run', '--rm', IMAGE, 'true'], { env: { PATH: '/nonexistent' } });
  assert.is(r.exitCode, 125);
  assert.is(r.stderr, 'devbox: slirp4netns not found: it provides the isolated network (apt-get install slirp4netns, or run with --network host)\n');
  assert.equal(containers(), before);
});

test.run();
