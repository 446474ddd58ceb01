/**
 * The isolated network's two outbound links, slirp4netns and pasta (the networkBackend setting, --network
 * pasta), as the unprivileged user running the suite: each reaches a server of the test's on the host and
 * publishes a TCP and a UDP port; pasta's IPv6; no pasta outlives its container (rm -f, kill -9 of the
 * supervisor) or its network's holder. All traffic stays on this machine.
 */
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { assertOneLineFailure } from '../helpers/errors.js';
import { testDir } from '../helpers/images.js';
import { closeServer, eventually, httpGet, importNetworkImage, portOf } from '../helpers/network.js';
import { udpEchoProgram } from '../helpers/udp-echo.js';
import { findPasta } from '../../src/network/pasta.js';
import { statFields, startTimeOf } from '../../src/util/processes.js';

const IMAGE = 'netbox:latest';
const BACKENDS = ['slirp4netns', 'pasta'] as const;
const dataDir = () => join(process.env.XDG_DATA_HOME!, 'devbox');
const containers: string[] = [];
const networks: string[] = [];

/** An XDG_CONFIG_HOME of the test's with these settings, for one devbox command. */
async function withSettings(settings: Record<string, unknown>): Promise<NodeJS.ProcessEnv> {
  const dir = await testDir('config');
  mkdirSync(join(dir, 'devbox'), { recursive: true });
  writeFileSync(join(dir, 'devbox', 'config.json'), JSON.stringify(settings));
  return { XDG_CONFIG_HOME: dir };
}

async function runDetached(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  containers.push(name);
  return (await devboxOk(['run', '-d', '--name', name, ...args], { env })).stdout.trim();
}

interface Running {
  pid: number;
  start: string;
}

function running(pid: number): Running | undefined {
  const start = startTimeOf(pid);
  return start === undefined ? undefined : { pid, start };
}

function gone(process: Running): boolean {
  return startTimeOf(process.pid) !== process.start;
}

/** The pasta of a container (or a network's holder) in `dir`, and the sh whose child it is. */
function pastaIn(dir: string): { pasta: Running; sh: Running } {
  const pid = Number(readFileSync(join(dir, 'pasta.pid'), 'utf8').trim());
  const pasta = running(pid);
  assert.ok(pasta, `pasta (pid ${pid}) runs`);
  const sh = running(Number(statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'))[1]));
  assert.ok(sh, "pasta's sh runs");
  return { pasta: pasta!, sh: sh! };
}

/**
 * A server on `address` that sends `text` to each client and closes the connection both ways. The client
 * (`sleep 2 | nc`) keeps its side open meanwhile: the pasta Debian 12 ships can leave a connection hanging
 * that a side half-closes at once, as nc with no input does (docs/networking.md).
 */
async function closingServer(text: string, address: string): Promise<Server> {
  const server = createServer((socket) => {
    socket.end(text, () => socket.destroy());
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  return server;
}

/** A UDP port of 127.0.0.1 that was free a moment ago. */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** One datagram to 127.0.0.1:port until "udp-ok" comes back (the server may not listen yet). */
async function udpAnswer(port: number): Promise<string> {
  return eventually(`a UDP answer on port ${port}`, () => {
    return new Promise<string | undefined>((resolve) => {
      const socket = createSocket('udp4');
      const timer = setTimeout(() => socket.close(() => resolve(undefined)), 500);
      socket.once('message', (message) => {
        clearTimeout(timer);
        socket.close(() => resolve(message.toString('utf8')));
      });
      socket.send('ping', port, '127.0.0.1');
    });
  });
}

/** This machine's first IPv4 address that is not loopback: a container reaches it through its outbound link. */
function externalIPv4(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  assert.ok(address, 'this machine has an IPv4 address besides loopback');
  return address!;
}

test.before(async () => {
  assert.ok(findPasta(), 'pasta is installed (test/setup-machine.sh installs passt)');
  await importNetworkImage(IMAGE, [{ name: 'bin/udp-echo', content: readFileSync(await udpEchoProgram()), mode: 0o755 }]);
});

test.after.each(async () => {
  try {
    if (containers.length) {
      const removed = await devbox(['rm', '-f', ...containers.splice(0)]);
      if (removed.exitCode !== 0) throw new Error(`devbox rm -f failed: ${removed.stderr.trim()}`);
    }
  } finally {
    if (networks.length) await devbox(['network', 'rm', '-f', ...networks.splice(0)]);
  }
});

for (const backend of BACKENDS) {
  test(`${backend}: reaches the test's server on the host's loopback through 10.0.2.2 when allowed, and publishes a TCP and a UDP port`, async () => {
    const env = await withSettings({ networkBackend: backend, allowHostLoopback: true });
    const server = await closingServer('held by the test\n', '127.0.0.1');
    try {
      const r = await devboxOk(['run', '--rm', IMAGE, 'sh', '-c', `ip route; sleep 2 | nc -w 5 10.0.2.2 ${portOf(server)}`], { env });
      assert.match(r.stdout, /^default via 10\.0\.2\.2 dev tap0/m);
      assert.match(r.stdout, /held by the test/);
    } finally {
      await closeServer(server);
    }
    // The same port outside and inside: the pasta Debian 12 ships forwards UDP to the same port only (below).
    const udpPort = await freeUdpPort();
    const id = await runDetached(
      `pub-${backend}`,
      [
        '-p',
        '127.0.0.1::8080',
        '-p',
        `127.0.0.1:${udpPort}:${udpPort}/udp`,
        IMAGE,
        'sh',
        '-c',
        `mkdir /srv; echo published-ok >/srv/index.html; udp-echo serve ${udpPort} & exec httpd -f -p 8080 -h /srv`,
      ],
      env,
    );
    // The setting chose the link: pasta leaves its pid file in the container's directory, slirp4netns its API socket.
    const dir = join(dataDir(), 'containers', id);
    assert.is(existsSync(join(dir, 'pasta.pid')), backend === 'pasta');
    assert.is(existsSync(join(dir, 'slirp4netns.sock')), backend === 'slirp4netns');
    const tcp = Number(/:(\d+)$/.exec((await devboxOk(['port', id, '8080/tcp'])).stdout.trim())?.[1]);
    assert.is((await devboxOk(['port', id, `${udpPort}/udp`])).stdout.trim(), `127.0.0.1:${udpPort}`);
    assert.ok(tcp > 0);
    assert.is(await eventually('the published TCP port to answer', () => httpGet(tcp)), 'published-ok\n');
    assert.is(await udpAnswer(udpPort), 'udp-ok\n');
  });
}

test('pasta: a UDP port published on another host port is one line, and nothing is left', async () => {
  const before = (await devboxOk(['ps', '-aq'])).stdout;
  const r = await devbox(['run', '--rm', '--network', 'pasta', '-p', '127.0.0.1::5353/udp', IMAGE, 'true']);
  assertOneLineFailure(r, /cannot publish 5353\/udp on a free port of 127\.0\.0\.1 with pasta: it forwards UDP to the same port only/);
  assert.is((await devboxOk(['ps', '-aq'])).stdout, before);
});

test('--network pasta: IPv6 inside, an address and a default route as the host has them', async () => {
  const r = await devboxOk(['run', '--rm', '--network', 'pasta', IMAGE, 'sh', '-c', 'ip -6 addr show dev tap0 scope global; ip -6 route show default']);
  // pasta copies the host's: a host without a global IPv6 address gives none.
  const hostHasIPv6 = Object.values(networkInterfaces())
    .flat()
    .some((a) => a && a.family === 'IPv6' && !a.internal && !a.address.startsWith('fe80:'));
  assert.is(/inet6 [0-9a-f:]+\/\d+ scope global/.test(r.stdout), hostHasIPv6, r.stdout);
  assert.is(/^default via [0-9a-f:]+ dev tap0/m.test(r.stdout), hostHasIPv6, r.stdout);
});

test('-p [::1]::PORT: an IPv6 host address, reached through the forwarder with either link, shown as Docker shows it', async () => {
  for (const network of BACKENDS) {
    const id = await runDetached(`v6-${network}`, [
      '--network',
      network,
      '-p',
      '[::1]::8080',
      IMAGE,
      'sh',
      '-c',
      'mkdir /srv; echo v6-ok >/srv/index.html; exec httpd -f -p 8080 -h /srv',
    ]);
    const line = (await devboxOk(['port', id, '8080/tcp'])).stdout.trim();
    const port = Number(/^\[::1\]:(\d+)$/.exec(line)?.[1]);
    assert.ok(port > 0, line);
    assert.is(await eventually('the IPv6 port to answer', () => httpGet(port, '[::1]')), 'v6-ok\n');
    assert.match((await devboxOk(['ps', '--filter', `id=${id}`, '--format', '{{.Ports}}'])).stdout, /\[::1\]:\d+->8080\/tcp/);
  }
});

test('no pasta outlives its container: devbox rm -f, and kill -9 of the supervisor', async () => {
  const first = await runDetached('pasta-rm', ['--network', 'pasta', IMAGE, 'sleep', '600']);
  // inspect names the mode as podman does.
  assert.is((await devboxOk(['inspect', '-f', '{{.HostConfig.NetworkMode}}', first])).stdout, 'pasta\n');
  const { pasta, sh } = pastaIn(join(dataDir(), 'containers', first));
  await devboxOk(['rm', '-f', containers.pop()!]);
  await eventually('pasta and its sh to go with the container', () => (gone(pasta) && gone(sh) ? true : undefined), 15000);

  const second = await runDetached('pasta-kill', ['--network', 'pasta', IMAGE, 'sleep', '600']);
  const dir = join(dataDir(), 'containers', second);
  const links = pastaIn(dir);
  const { supervisorPid } = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
  assert.ok(supervisorPid > 0);
  process.kill(supervisorPid, 'SIGKILL');
  await eventually('pasta and its sh to go with the killed container', () => (gone(links.pasta) && gone(links.sh) ? true : undefined), 15000);
});

test("a devbox network's outbound link is pasta when the setting says so: out through it, and gone with the last container", async () => {
  const env = await withSettings({ networkBackend: 'pasta' });
  await devboxOk(['network', 'create', 'pasta-net']);
  networks.push('pasta-net');
  const server = await closingServer('outside-ok\n', '0.0.0.0');
  try {
    await runDetached('pasta-member', ['--network', 'pasta-net', IMAGE, 'sleep', '600'], env);
    const { pasta, sh } = pastaIn(join(dataDir(), 'networks', 'pasta-net.run'));
    const r = await devboxOk(['exec', 'pasta-member', 'sh', '-c', `sleep 2 | nc -w 5 ${externalIPv4()} ${portOf(server)}`]);
    assert.is(r.stdout, 'outside-ok\n');
    await devboxOk(['rm', '-f', containers.pop()!]);
    await eventually("the network's pasta to go with its last container", () => (gone(pasta) && gone(sh) ? true : undefined), 15000);
  } finally {
    await closeServer(server);
  }
});

test.run();
