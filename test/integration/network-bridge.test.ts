/**
 * devbox networks as the unprivileged user running the suite: containers on one network reach each other
 * by name (TCP and UDP) through the network's bridge and resolver, a container on another network cannot
 * reach them, one on two networks reaches both, connect and disconnect change a running container's links,
 * `--network container:NAME` shares localhost, the outside is reached through the network's one slirp4netns,
 * and the network's holder, its slirp4netns and the networks' owner go when the last container does, also
 * after a kill -9 of a supervisor. All traffic stays on this machine.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { DEVBOX_BIN, devbox, devboxOk } from '../helpers/cli.js';
import { startDnsResponder } from '../helpers/dns-responder.js';
import { testDir } from '../helpers/images.js';
import { eventually, httpGet, importNetworkImage } from '../helpers/network.js';
import { assertOneLineFailure } from '../helpers/errors.js';
import { udpEchoProgram } from '../helpers/udp-echo.js';
import { startedSince, suiteProcesses, type SuiteProcess } from '../helpers/processes.js';
import { isRunning } from '../../src/util/processes.js';
import { liveStoreOwner } from '../helpers/owner.js';

const IMAGE = 'netbox:latest';

/** True when nothing listens on the host port (127.0.0.1) any more. */
function portIsFree(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
const execFileAsync = promisify(execFile);
const networksDir = () => join(process.env.XDG_DATA_HOME!, 'devbox', 'networks');
const containers: string[] = [];
const networks: string[] = [];

async function network(name: string, ...options: string[]): Promise<void> {
  await devboxOk(['network', 'create', ...options, name]);
  networks.push(name);
}

/** A detached container that runs `script`. */
async function start(name: string, net: string, script: string, ...options: string[]): Promise<void> {
  containers.push(name);
  await devboxOk(['run', '-d', '--name', name, '--network', net, ...options, IMAGE, 'sh', '-c', script]);
}

/** Removes the test's containers; one that cannot be removed fails the test, with what rm said. */
async function removeAll(): Promise<void> {
  if (!containers.length) return;
  const removed = await devbox(['rm', '-f', ...containers.splice(0)]);
  if (removed.exitCode !== 0) throw new Error(`devbox rm -f failed (${removed.exitCode}): ${removed.stderr.trim()}`);
}

/** A shell loop that runs `command` until it succeeds, 10 times at most: a server in another container may not listen yet. */
const untilOk = (command: string) => `for i in 1 2 3 4 5 6 7 8 9 10; do ${command} && break; sleep 0.3; done`;

interface Holder {
  pid: number;
  start: string;
}

/** The network holders running for this suite's store, from their state files (they run as a subordinate id). */
function holders(): Holder[] {
  const dir = networksDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.run') && existsSync(join(dir, f, 'holder.json')))
    .map((f) => JSON.parse(readFileSync(join(dir, f, 'holder.json'), 'utf8')) as Holder)
    .filter(isRunning);
}

let before: { slirp: SuiteProcess[] };

test.before(async () => {
  await importNetworkImage(IMAGE, [{ name: 'bin/udp-echo', content: readFileSync(await udpEchoProgram()), mode: 0o755 }]);
});

test.before.each(() => {
  before = { slirp: suiteProcesses('slirp4netns') };
});

test.after.each(async () => {
  try {
    await removeAll();
    // Every holder and slirp4netns a test started goes with its last container, with no devbox process watching
    // (the store's user namespace owner stays).
    await eventually(
      'the networks to go with their containers',
      () => (startedSince(before.slirp, 'slirp4netns').length === 0 && holders().length === 0 ? true : undefined),
      15000,
    ).catch(async (error: Error) => {
      const ps = await devbox(['ps', '-a', '--format', '{{.Names}} {{.Status}} {{.Networks}}']);
      throw new Error(
        `${error.message}; holders: ${JSON.stringify(holders())}; owner: ${JSON.stringify(liveStoreOwner())}; containers: ${ps.stdout.trim().replace(/\n/g, ', ') || 'none'}`,
      );
    });
  } finally {
    if (networks.length) await devbox(['network', 'rm', '-f', ...networks.splice(0)]);
  }
});

test('two containers on a network reach each other by name and alias, TCP and UDP; one on another network cannot', async () => {
  await network('bridge-a');
  await network('bridge-b');
  await start('db', 'bridge-a', 'nc -ll -p 5432 -e echo tcp-ok & udp-echo serve 5353 & wait', '--network-alias', 'database');
  const probe = async (net: string, script: string) => (await devbox(['run', '--rm', '--network', net, IMAGE, 'sh', '-c', script])).stdout;
  const tcp = await probe('bridge-a', untilOk('nc -w 2 db 5432 </dev/null'));
  assert.match(tcp, /tcp-ok/);
  const alias = await probe('bridge-a', 'nc -w 2 database 5432 </dev/null');
  assert.match(alias, /tcp-ok/);
  // UDP by name: the network's resolver gives db's address (busybox's nslookup), the datagram goes there.
  const udp = await probe('bridge-a', 'udp-echo send $(nslookup db | sed -n "s/^Address: *//p" | tail -n 1) 5353');
  assert.match(udp, /udp-ok/);
  const address = (await probe('bridge-a', 'nslookup db 2>/dev/null | sed -n "s/^Address: *//p" | tail -n 1')).trim();
  assert.match(address, /^10\.89\.\d+\.\d+$/);
  const inspected = await devboxOk(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}} {{.HostConfig.NetworkMode}}', 'db']);
  assert.is(inspected.stdout, `${address} bridge-a\n`);
  // From another network: the name is unknown there, and the address leads out through slirp4netns, to the
  // host, which has no such network (slirp4netns accepts the connection and closes it: no reply comes).
  const other = await probe('bridge-b', `nslookup db 2>&1; nc -w 2 ${address} 5432 </dev/null; echo done`);
  assert.match(other, /can't find db: NXDOMAIN/);
  assert.match(other, /done/);
  assert.not.match(other, /tcp-ok/);
});

test("a container on a network resolves through the network's resolver and leaves through its gateway", async () => {
  await network('bridge-out');
  const r = await devboxOk(['run', '--rm', '--network', 'bridge-out', IMAGE, 'sh', '-c', 'cat /etc/resolv.conf; ip route']);
  assert.match(r.stdout, /^nameserver 10\.89\.\d+\.1$/m);
  assert.match(r.stdout, /^default via 10\.89\.\d+\.1 dev eth0/m);
});

if (process.getuid!() === 0) {
  // As network.test's DNS test as root: only root can listen on port 53, where slirp4netns sends the queries
  // it forwards, and bind a resolv.conf of the test's over the host's in a mount namespace of its own.
  test("DNS as root: other names go from the network's resolver through slirp4netns to the host's resolver", async () => {
    await network('bridge-dns');
    const address = '127.83.0.2';
    const resolver = await startDnsResponder({ 'api.devbox.test': '192.0.2.78' }, { address, port: 53 });
    const dir = await testDir('resolv');
    writeFileSync(join(dir, 'resolv.conf'), `nameserver ${address}\n`);
    try {
      const script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"';
      const command = [process.execPath, DEVBOX_BIN, 'run', '--rm', '--network', 'bridge-dns', IMAGE, 'nslookup', '-type=a', 'api.devbox.test'];
      const r = await execFileAsync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, join(dir, 'resolv.conf'), ...command], {
        encoding: 'utf8',
      });
      assert.match(r.stdout, /Server:\s+10\.89\.\d+\.1/);
      assert.match(r.stdout, /Name:\s+api\.devbox\.test\nAddress: 192\.0\.2\.78/);
      assert.ok(resolver.queries.includes('api.devbox.test'), JSON.stringify(resolver.queries));
    } finally {
      await resolver.close();
    }
  });
}

test('--internal: no way out, names of the network still resolve', async () => {
  await network('bridge-int', '--internal');
  await start('inner', 'bridge-int', 'nc -ll -p 80 -e echo inner-ok');
  const r = await devboxOk(['run', '--rm', '--network', 'bridge-int', IMAGE, 'sh', '-c', `ip route; ${untilOk('nc -w 2 inner 80 </dev/null')}`]);
  assert.match(r.stdout, /inner-ok/);
  assert.not.match(r.stdout, /^default/m);
});

test('-p and -P on a network: the host reaches the container through the forwarder, which goes with it; UDP is one line', async () => {
  await network('bridge-p');
  await start('webp', 'bridge-p', 'mkdir /srv && echo published-ok >/srv/index.html && exec httpd -f -p 8080 -h /srv', '-p', '127.0.0.1::8080');
  const line = (await devboxOk(['port', 'webp', '8080/tcp'])).stdout.trim();
  const hostPort = Number(/^127\.0\.0\.1:(\d+)$/.exec(line)?.[1]);
  assert.ok(hostPort > 0, line);
  assert.is(await eventually('the published port to answer', () => httpGet(hostPort)), 'published-ok\n');
  // Another container on the network still reaches it by name, beside the published port.
  const byName = await devboxOk(['run', '--rm', '--network', 'bridge-p', IMAGE, 'sh', '-c', untilOk('wget -qO- http://webp:8080/')]);
  assert.is(byName.stdout, 'published-ok\n');
  await removeAll();
  // The forwarder ended with the container: the host port is free again.
  await eventually('the host port to be free', () => portIsFree(hostPort));
  const udp = await devbox(['run', '-d', '--network', 'bridge-p', '-p', '5353:53/udp', IMAGE, 'true']);
  assertOneLineFailure(udp, /cannot publish 127\.0\.0\.1:5353->53\/udp on network bridge-p: UDP ports are published on slirp4netns only/);
});

test('--network container:NAME shares its localhost; a target that is not running is one line', async () => {
  await network('bridge-c');
  await start('web', 'bridge-c', 'mkdir /srv && echo local-ok >/srv/ok && exec httpd -f -p 127.0.0.1:8080 -h /srv');
  const r = await devboxOk([
    'run',
    '--rm',
    '--network',
    'container:web',
    IMAGE,
    'sh',
    '-c',
    untilOk('printf "GET /ok HTTP/1.0\\r\\n\\r\\n" | nc 127.0.0.1 8080'),
  ]);
  assert.match(r.stdout, /local-ok/);
  await devboxOk(['create', '--name', 'stopped', IMAGE, 'true']);
  containers.push('stopped');
  const refused = await devbox(['run', '--rm', '--network', 'container:stopped', IMAGE, 'true']);
  assert.is(refused.exitCode, 125);
  assert.match(refused.stderr, /^devbox: container stopped is not running: --network container:stopped shares its network namespace/);
  assert.is(refused.stderr.trim().split('\n').length, 1);
});

test('disconnect cuts a running container off at once; connect puts a stopped one on the network from its next start', async () => {
  await network('bridge-d');
  await start('cut', 'bridge-d', 'nc -ll -p 7000 -e echo cut-ok');
  const reach = async () =>
    (
      await devbox([
        'run',
        '--rm',
        '--network',
        'bridge-d',
        IMAGE,
        'sh',
        '-c',
        `${untilOk('nc -w 2 cut 7000 </dev/null | grep -q cut-ok')}; nc -w 2 cut 7000 </dev/null`,
      ])
    ).stdout;
  assert.match(await reach(), /cut-ok/);
  await devboxOk(['network', 'disconnect', 'bridge-d', 'cut']);
  const links = (await devboxOk(['exec', 'cut', 'ls', '/sys/class/net'])).stdout;
  assert.is(links, 'lo\n', 'its eth0 went with the veth pair');
  assert.not.match(await reach(), /cut-ok/);
  const inspect = JSON.parse((await devboxOk(['network', 'inspect', 'bridge-d'])).stdout);
  assert.equal(inspect[0].Containers, {});
  containers.push('joiner');
  await devboxOk(['create', '--name', 'joiner', '--network', 'none', IMAGE, 'sh', '-c', 'nc -ll -p 7001 -e echo joiner-ok']);
  await devboxOk(['network', 'connect', '--alias', 'late', 'bridge-d', 'joiner']);
  await devboxOk(['start', 'joiner']);
  const r = await devboxOk(['run', '--rm', '--network', 'bridge-d', IMAGE, 'sh', '-c', untilOk('nc -w 2 late 7001 </dev/null | grep joiner-ok')]);
  assert.match(r.stdout, /joiner-ok/);
  const running = await devbox(['network', 'connect', 'bridge-d', 'joiner']);
  assert.match(running.stderr, /^devbox: container joiner is already connected to network bridge-d/);
});

test('on two networks: a container reaches one on each by name; inspect lists both; connect links a running one at once, disconnect cuts it', async () => {
  await network('multi-a');
  await network('multi-b');
  await start('on-a', 'multi-a', 'nc -ll -p 7100 -e echo a-ok');
  await start('on-b', 'multi-b', 'nc -ll -p 7200 -e echo b-ok');
  await start('on-both', 'multi-a', 'sleep 600', '--network', 'multi-b', '--network-alias', 'both');
  const reach = (target: string, port: number, expect: string) => untilOk(`nc -w 2 ${target} ${port} </dev/null | grep ${expect}`);
  const both = await devboxOk(['exec', 'on-both', 'sh', '-c', `${reach('on-a', 7100, 'a-ok')}; ${reach('on-b', 7200, 'b-ok')}; ls /sys/class/net`]);
  assert.is(both.stdout, 'a-ok\nb-ok\neth0\neth1\nlo\n');
  const inspected = JSON.parse((await devboxOk(['inspect', 'on-both'])).stdout)[0];
  const addresses = Object.entries(inspected.NetworkSettings.Networks).map(([name, n]) => [name, (n as { IPAddress: string }).IPAddress]);
  assert.equal(
    addresses.map(([name]) => name),
    ['multi-a', 'multi-b'],
  );
  for (const [, address] of addresses) assert.match(address!, /^10\.89\.\d+\.\d+$/);
  // --network-alias is for the first network only, as Docker's.
  const alias = await devboxOk(['exec', 'on-b', 'sh', '-c', 'nslookup both 2>&1; nslookup on-both 2>&1']);
  assert.match(alias.stdout, /can't find both: NXDOMAIN/);
  assert.match(alias.stdout, new RegExp(`^Address: ${addresses[1]![1]!.replace(/\./g, '\\.')}$`, 'm'));

  // on-a runs on multi-a only: connect gives it eth1 on multi-b, and the names there, while it runs.
  const cut = await devbox(['exec', 'on-a', 'sh', '-c', 'nc -w 2 on-b 7200 </dev/null']);
  assert.not.match(cut.stdout, /b-ok/);
  await devboxOk(['network', 'connect', 'multi-b', 'on-a']);
  const linked = await devboxOk(['exec', 'on-a', 'sh', '-c', `${reach('on-b', 7200, 'b-ok')}; ls /sys/class/net`]);
  assert.is(linked.stdout, 'b-ok\neth0\neth1\nlo\n');
  const bAddress = (await devboxOk(['exec', 'on-a', 'sh', '-c', 'nslookup on-b | sed -n "s/^Address: *//p" | tail -n 1'])).stdout.trim();
  assert.match(bAddress, /^10\.89\.\d+\.\d+$/);
  // Disconnected: the link is gone at once; connecting to on-b's address fails (polled until it does).
  await devboxOk(['network', 'disconnect', 'multi-b', 'on-a']);
  const after = await devboxOk([
    'exec',
    'on-a',
    'sh',
    '-c',
    `for i in 1 2 3 4 5 6 7 8 9 10; do nc -w 2 ${bAddress} 7200 </dev/null | grep -q b-ok || { echo refused; break; }; sleep 0.3; done; ls /sys/class/net`,
  ]);
  assert.is(after.stdout, 'refused\neth0\nlo\n');
  const record = JSON.parse((await devboxOk(['inspect', 'on-a'])).stdout)[0];
  assert.equal(Object.keys(record.NetworkSettings.Networks), ['multi-a']);
});

test('--ipv6: containers get an address of a unique local /64 too, and reach each other over IPv6 by name', async () => {
  await network('bridge-v6', '--ipv6');
  const [config] = JSON.parse((await devboxOk(['network', 'inspect', 'bridge-v6'])).stdout);
  assert.is(config.EnableIPv6, true);
  const subnet6 = config.IPAM.Config[1].Subnet as string;
  assert.match(subnet6, /^fd[0-9a-f:]+\/64$/);
  await start('v6srv', 'bridge-v6', 'nc -ll -p 7400 -e echo v6-ok');
  const inspected = JSON.parse((await devboxOk(['inspect', 'v6srv'])).stdout)[0].NetworkSettings.Networks['bridge-v6'];
  assert.ok((inspected.GlobalIPv6Address as string).startsWith(subnet6.split('::')[0]!), JSON.stringify(inspected));
  const r = await devboxOk([
    'run',
    '--rm',
    '--network',
    'bridge-v6',
    IMAGE,
    'sh',
    '-c',
    `nslookup -type=AAAA v6srv | sed -n "s/^Address: *//p" | tail -n 1; ${untilOk(`nc -w 2 ${inspected.GlobalIPv6Address} 7400 </dev/null | grep v6-ok`)}`,
  ]);
  assert.is(r.stdout, `${inspected.GlobalIPv6Address}\nv6-ok\n`);
  const refused = await devbox(['network', 'create', '--subnet', 'fd00:7::/64', 'bridge-v6-no']);
  assertOneLineFailure(refused, /^devbox: subnet fd00:7::\/64 is IPv6 \(add --ipv6/);
});

test('a foreground run on one network holds up no start on another while its command runs', async () => {
  await network('hold-a');
  await network('hold-b');
  containers.push('waiting');
  // Its command runs until its stdin closes; meanwhile a start on another network must go through.
  const foreground = spawn(
    process.execPath,
    [DEVBOX_BIN, 'run', '-i', '--name', 'waiting', '--network', 'hold-a', IMAGE, 'sh', '-c', 'echo up; cat >/dev/null; echo done'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let out = '';
  foreground.stdout!.on('data', (d) => (out += d));
  const ended = new Promise<number | null>((resolve) => foreground.once('close', resolve));
  await eventually('the foreground command to run', () => (out.includes('up') ? true : undefined), 30000);
  await start('other', 'hold-b', 'true');
  foreground.stdin!.end();
  assert.is(await ended, 0);
  assert.is(out, 'up\ndone\n');
});

test('connect and disconnect, bad input: already connected, not connected, an unknown network or container, two --network with a mode — one line each', async () => {
  await network('multi-c');
  await network('multi-d');
  await start('conn', 'multi-c', 'sleep 600');
  assertOneLineFailure(await devbox(['network', 'connect', 'multi-c', 'conn']), /^devbox: container conn is already connected to network multi-c/);
  assertOneLineFailure(await devbox(['network', 'disconnect', 'multi-d', 'conn']), /^devbox: container conn is not connected to network multi-d/);
  assertOneLineFailure(await devbox(['network', 'connect', 'multi-nope', 'conn']), /^devbox: network multi-nope not found/);
  assertOneLineFailure(await devbox(['network', 'connect', 'multi-c', 'no-such-container']), /^devbox: no such container: no-such-container/);
  assertOneLineFailure(await devbox(['network', 'disconnect', 'multi-c', 'no-such-container']), /^devbox: no such container: no-such-container/);
  assertOneLineFailure(
    await devbox(['run', '--rm', '--network', 'multi-c', '--network', 'host', IMAGE, 'true']),
    /^devbox: --network host cannot be given with other networks/,
    125,
  );
  assertOneLineFailure(
    await devbox(['run', '--rm', '--network', 'multi-c', '--network', 'multi-c', IMAGE, 'true']),
    /^devbox: --network multi-c is given twice/,
    125,
  );
});

test('bad input: an unknown network, a network in use — one line each', async () => {
  const unknown = await devbox(['run', '--rm', '--network', 'bridge-nope', IMAGE, 'true']);
  assert.is(unknown.exitCode, 125);
  assert.match(unknown.stderr, /^devbox: network bridge-nope not found/);
  await network('bridge-used');
  await devboxOk(['create', '--name', 'user1', '--network', 'bridge-used', IMAGE, 'true']);
  containers.push('user1');
  const inUse = await devbox(['network', 'rm', 'bridge-used']);
  assert.is(inUse.exitCode, 1);
  assert.match(inUse.stderr, /^devbox: network bridge-used is in use by container user1/);
  const inspect = JSON.parse((await devboxOk(['network', 'inspect', 'bridge-used'])).stdout);
  assert.equal(
    Object.values(inspect[0].Containers).map((c) => (c as { Name: string }).Name),
    ['user1'],
  );
});

test('kill -9 of a supervisor: its container and then the network holder and slirp4netns go, leaving no files of theirs', async () => {
  await network('bridge-k');
  await start('victim', 'bridge-k', 'sleep 600');
  const id = (await devboxOk(['inspect', '-f', '{{.Id}}', 'victim'])).stdout.trim();
  const { supervisorPid } = JSON.parse(readFileSync(join(process.env.XDG_DATA_HOME!, 'devbox', 'containers', id, 'state.json'), 'utf8'));
  assert.ok(supervisorPid > 0);
  const [holder] = holders();
  assert.ok(holder, 'a holder runs while the container does');
  // exec enters a container whose user namespace is nested in the network's.
  assert.match((await devboxOk(['exec', 'victim', 'cat', '/proc/self/net/dev'])).stdout, /eth0:/);
  process.kill(supervisorPid, 'SIGKILL');
  await eventually('the holder to go', () => (isRunning(holder!) ? undefined : true), 15000);
  assert.not.ok(existsSync(join(networksDir(), 'bridge-k.run', 'holder.json')));
});

test("kill -9 of the networks' owner: its containers keep their network, and the holder and slirp4netns still go with them", async () => {
  await network('bridge-o');
  await start('kept', 'bridge-o', 'nc -ll -p 7300 -e echo kept-ok');
  const owner = liveStoreOwner();
  assert.ok(owner, 'an owner runs while a container is on a network');
  process.kill(owner!.pid, 'SIGKILL');
  await eventually('the owner to be gone', () => (liveStoreOwner() ? undefined : true), 15000);
  const r = await devboxOk(['exec', 'kept', 'sh', '-c', untilOk('nc -w 2 kept 7300 </dev/null | grep kept-ok')]);
  assert.is(r.stdout, 'kept-ok\n');
});

test.run();
