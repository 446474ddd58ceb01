/**
 * Ports of slirp4netns sandboxes, with real slirp4netns and servers inside answering curl on the host:
 * -p publishing and its errors, auto-forward of listeners and its removal, `devbox ports`. Host ports are
 * ones the system just handed out, so suites running beside this one do not clash.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { readSockets } from '../../src/network/proc-net.js';
import { devbox, devboxOk } from '../helpers/cli.js';
import { testDir } from '../helpers/images.js';
import { startedSince, suiteProcesses } from '../helpers/processes.js';
import { closeServer, eventually, freePort, httpGet, importNetworkImage, listenOnFreePort, portOf, startSandbox } from '../helpers/network.js';

const IMAGE = 'netbox:latest';
const containersDir = () => join(process.env.XDG_DATA_HOME!, 'devbox', 'containers');
const containers = () => (existsSync(containersDir()) ? readdirSync(containersDir()) : []);

/** A command that serves `body` with busybox httpd on `port` inside, says "serving", then waits for stdin's end. */
const serve = (body: string, port: number) => [
  'sh',
  '-c',
  `set -e; mkdir -p /www; echo ${body} > /www/index.html; httpd -p ${port} -h /www; echo serving; read line || true`,
];

/** `devbox ports` rows as [port, host address, forward] (one sandbox runs at a time where this is used). */
async function portsRows(): Promise<string[][]> {
  const out = (await devboxOk(['ports'])).stdout.trim().split('\n').slice(1);
  return out.map((line) =>
    line
      .trim()
      .split(/\s{2,}/)
      .slice(1),
  );
}

test.before(async () => {
  await importNetworkImage(IMAGE);
});

test("-p HOSTPORT:PORT publishes on the host's 127.0.0.1 only; devbox ports lists it", async () => {
  const hostPort = await freePort();
  const sandbox = startSandbox(['-p', `${hostPort}:8080`, IMAGE, ...serve('published', 8080)]);
  try {
    await sandbox.printed('serving');
    assert.is(await httpGet(hostPort), 'published\n');
    const bound = readSockets('/proc/self/net', 'tcp').filter((s) => s.port === hostPort);
    assert.equal(
      bound.map((s) => s.address),
      ['127.0.0.1'],
    );
    assert.equal(await portsRows(), [['8080/tcp', `127.0.0.1:${hostPort}`, 'published']], 'not auto-forwarded a second time');
  } finally {
    assert.is(await sandbox.finish(), 0, sandbox.stderr());
  }
  assert.is(await httpGet(hostPort), undefined, 'the forward ends with the sandbox');
});

test('two sandboxes listen on the same port inside, each published on its own host port', async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  const a = startSandbox(['-p', `127.0.0.1:${portA}:3000`, IMAGE, ...serve('first', 3000)]);
  const b = startSandbox(['--publish', `${portB}:3000/tcp`, IMAGE, ...serve('second', 3000)]);
  try {
    await a.printed('serving');
    await b.printed('serving');
    assert.is(await httpGet(portA), 'first\n');
    assert.is(await httpGet(portB), 'second\n');
  } finally {
    assert.is(await a.finish(), 0, a.stderr());
    assert.is(await b.finish(), 0, b.stderr());
  }
});

test('auto-forward: a listener inside gets the same host port, listed by devbox ports, removed when it stops', async () => {
  const port = await freePort();
  const script = `mkdir /www; echo auto > /www/index.html; httpd -f -p ${port} -h /www & echo serving; read line; kill $!; wait; echo stopped; read line || true`;
  const sandbox = startSandbox([IMAGE, 'sh', '-c', script]);
  try {
    await sandbox.printed('serving');
    assert.is(await eventually('the auto-forward', () => httpGet(port)), 'auto\n');
    assert.equal(await portsRows(), [[`${port}/tcp`, `127.0.0.1:${port}`, 'auto']]);
    sandbox.send('stop');
    await sandbox.printed('stopped');
    await eventually('the forward to go', async () => ((await portsRows()).length === 0 ? true : undefined));
    assert.is(await httpGet(port), undefined);
  } finally {
    assert.is(await sandbox.finish(), 0, sandbox.stderr());
  }
});

test('auto-forward takes the next free host port when the same one is taken', async () => {
  const held = await listenOnFreePort();
  const port = portOf(held);
  const sandbox = startSandbox([IMAGE, ...serve('moved', port)]);
  try {
    await sandbox.printed('serving');
    const row = await eventually('the auto-forward', async () => (await portsRows())[0]);
    const hostPort = Number(row[1].split(':')[1]);
    assert.ok(hostPort > port, `forwarded from ${row.join(' ')}`);
    assert.equal(row, [`${port}/tcp`, `127.0.0.1:${hostPort}`, 'auto']);
    assert.is(await httpGet(hostPort), 'moved\n');
    assert.is(await httpGet(port), 'held by the test\n', "the host's own server keeps its port");
  } finally {
    assert.is(await sandbox.finish(), 0, sandbox.stderr());
    await closeServer(held);
  }
});

test('auto-forward is off with the autoForward setting; listeners on loopback inside are never forwarded', async () => {
  // Absence is shown against a control: a sandbox that forwards, whose watcher scans while the listeners that
  // must not be forwarded are up. Once the control's port is forwarded, a scan has seen them all.
  const [offPort, loopbackPort, controlPort] = [await freePort(), await freePort(), await freePort()];
  const offConfig = await testDir('forward-off');
  await devboxOk(['config', 'set', 'autoForward', 'false'], { env: { XDG_CONFIG_HOME: offConfig } });
  const off = startSandbox([IMAGE, ...serve('off', offPort)], { XDG_CONFIG_HOME: offConfig });
  const loopbackListening = `grep -q "0100007F:$(printf %04X ${loopbackPort}) 00000000:0000 0A" /proc/net/tcp`;
  const control = startSandbox([
    IMAGE,
    'sh',
    '-c',
    // httpd listens before it returns: the loopback listener is up (checked) before the control's, so the scan
    // that finds the control's sees it too.
    `mkdir -p /lo; httpd -p 127.0.0.1:${loopbackPort} -h /lo; ${loopbackListening} || exit 9; ${serve('control', controlPort)[2]}`,
  ]);
  try {
    await off.printed('serving');
    await control.printed('serving');
    await eventually('the control port to be forwarded', async () => ((await portsRows()).some((row) => row[0] === `${controlPort}/tcp`) ? true : undefined));
    const forwarded = (await portsRows()).map((row) => row[0]);
    assert.not.ok(forwarded.includes(`${offPort}/tcp`), 'forwarded with autoForward false');
    assert.not.ok(forwarded.includes(`${loopbackPort}/tcp`), 'a listener on loopback was forwarded');
    assert.is(await httpGet(controlPort), 'control\n');
  } finally {
    assert.is(await off.finish(), 0, off.stderr());
    assert.is(await control.finish(), 0, control.stderr());
  }
});

for (const [spec, message] of [
  ['x:80', /invalid port mapping "x:80": host port "x" is not a port number/],
  ['8080:70000', /container port "70000" is not a port number/],
  ['8080:80/sctp', /protocol "sctp" is not tcp or udp/],
  ['[::1]:8080:80/udp', /UDP ports are published on IPv4 host addresses only/],
  ['localhost:8080:80', /host address "localhost" is not an IPv4 address/],
] as const) {
  test(`malformed -p ${spec}: one line, exit 125, nothing created`, async () => {
    const before = containers();
    const r = await devbox(['run', '--rm', '-p', spec, IMAGE, 'true']);
    assert.is(r.exitCode, 125);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /^devbox: .*\(expected \[HOSTIP:\]\[HOSTPORT:\]PORT\[\/tcp\|udp\], e\.g\. -p 8080:80\)\n$/);
    assert.equal(containers(), before);
  });
}

test('-p with --network host or none is refused', async () => {
  for (const network of ['host', 'none']) {
    const r = await devbox(['run', '--rm', '--network', network, '-p', '8080:80', IMAGE, 'true']);
    assert.is(r.exitCode, 125);
    assert.match(r.stderr, new RegExp(`^devbox: cannot publish ports with network "${network}" \\(.*\\)\\n$`));
  }
});

test('a taken host port is named with the process holding it; no container and no slirp4netns remain', async () => {
  const held = await listenOnFreePort();
  const port = portOf(held);
  const before = containers();
  const slirpBefore = suiteProcesses('slirp4netns');
  try {
    const r = await devbox(['run', '--rm', '-p', `${port}:80`, IMAGE, 'true']);
    assert.is(r.exitCode, 125);
    assert.is(
      r.stderr,
      `devbox: host port 127.0.0.1:${port}/tcp is already in use by node (pid ${process.pid}) (stop it, or publish another host port: -p ${port + 1}:80)\n`,
    );
    assert.equal(containers(), before);
    assert.equal(startedSince(slirpBefore, 'slirp4netns'), []);
  } finally {
    await closeServer(held);
  }
});

test('ports of a container that is not running: a clear error', async () => {
  const r = await devbox(['ports', 'ffffffffffff']);
  assert.is(r.exitCode, 1);
  assert.match(r.stderr, /^devbox: no such container: ffffffffffff/);
});

test.run();
