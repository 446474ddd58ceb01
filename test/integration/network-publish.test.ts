/**
 * Ports published on free host ports (`-p PORT`, `-p IP::PORT`, `-P` for the image's EXPOSEd ports), as
 * `devbox port`, `ps` and `inspect` report them, and the names options (--hostname, --add-host, --dns,
 * --dns-search, --dns-option) in /etc/hosts and /etc/resolv.conf, on slirp4netns and on a devbox network.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { testDir } from '../helpers/images.js';
import { eventually, httpGet, importNetworkImage } from '../helpers/network.js';

const IMAGE = 'netbox:latest';
const EXPOSING = 'netbox-exposing:latest';
const containers: string[] = [];

test.before(async () => {
  await importNetworkImage(IMAGE);
  const context = await testDir('exposing');
  writeFileSync(join(context, 'Dockerfile'), `FROM ${IMAGE}\nEXPOSE 8080 8081\n`);
  await devboxOk(['build', '-q', '-t', EXPOSING, context]);
});

test.after.each(async () => {
  if (containers.length) await devbox(['rm', '-f', ...containers.splice(0)]);
});

test('-P and -p PORT publish on free host ports, which devbox port, ps and inspect report while it runs', async () => {
  containers.push('pub');
  const script =
    'mkdir /a /b && echo from-8080 >/a/index.html && echo from-9000 >/b/index.html && httpd -p 8080 -h /a && httpd -p 9000 -h /b && exec sleep 600';
  await devboxOk(['run', '-d', '--name', 'pub', '-P', '-p', '127.0.0.1::9000', EXPOSING, 'sh', '-c', script]);
  const lines = (await devboxOk(['port', 'pub'])).stdout.trim().split('\n').sort();
  assert.is(lines.length, 3, lines.join('\n'));
  const hostPort = (line: string | undefined) => Number(/^\d+\/tcp -> 127\.0\.0\.1:(\d+)$/.exec(line ?? '')?.[1]);
  const [p8080, p8081, p9000] = ['8080/tcp', '8081/tcp', '9000/tcp'].map((k) => hostPort(lines.find((l) => l.startsWith(`${k} `))));
  for (const port of [p8080, p8081, p9000]) assert.ok(port >= 1024 && port <= 65535, lines.join('\n'));
  assert.is(new Set([p8080, p8081, p9000]).size, 3);
  assert.is((await devboxOk(['port', 'pub', '9000/tcp'])).stdout, `127.0.0.1:${p9000}\n`);
  assert.is(await eventually('the server on 8080', () => httpGet(p8080)), 'from-8080\n');
  assert.is(await eventually('the server on 9000', () => httpGet(p9000)), 'from-9000\n');
  const ps = (await devboxOk(['ps', '--filter', 'name=pub', '--format', '{{.Ports}}'])).stdout;
  assert.match(ps, new RegExp(`127\\.0\\.0\\.1:${p8080}->8080/tcp`));
  const inspect = JSON.parse((await devboxOk(['inspect', 'pub'])).stdout)[0];
  assert.equal(inspect.HostConfig.PortBindings['9000/tcp'], [{ HostIp: '127.0.0.1', HostPort: '' }]);
  assert.equal(inspect.NetworkSettings.Ports['9000/tcp'], [{ HostIp: '127.0.0.1', HostPort: String(p9000) }]);
});

test('--hostname, --add-host, --dns, --dns-search and --dns-option are in /etc/hosts and /etc/resolv.conf', async () => {
  const options = ['--hostname', 'web1', '--add-host', 'db.local:10.1.2.3', '--dns', '192.0.2.1', '--dns-search', 'a.test', '--dns-option', 'ndots:2'];
  const r = await devboxOk(['run', '--rm', ...options, IMAGE, 'sh', '-c', 'cat /etc/hostname /etc/hosts /etc/resolv.conf']);
  assert.match(r.stdout, /^web1$/m);
  assert.match(r.stdout, /^10\.0\.2\.100\tweb1$/m);
  assert.match(r.stdout, /^10\.1\.2\.3\tdb\.local$/m);
  assert.match(r.stdout, /^nameserver 192\.0\.2\.1$/m);
  assert.is(r.stdout.match(/^nameserver/gm)?.length, 1);
  assert.match(r.stdout, /^search a\.test$/m);
  assert.match(r.stdout, /^options ndots:2$/m);
  await devboxOk(['network', 'create', 'names-net']);
  try {
    const n = await devboxOk(['run', '--rm', '--network', 'names-net', '--name', 'named', ...options, IMAGE, 'sh', '-c', 'cat /etc/hosts /etc/resolv.conf']);
    assert.match(n.stdout, /^10\.89\.\d+\.\d+\tweb1 named$/m);
    assert.match(n.stdout, /^10\.1\.2\.3\tdb\.local$/m);
    assert.match(n.stdout, /^nameserver 10\.89\.\d+\.1$/m, "the network's resolver, which asks 192.0.2.1 for other names");
    assert.match(n.stdout, /^search a\.test$/m);
  } finally {
    await devbox(['network', 'rm', 'names-net']);
  }
});

test('bad names options are one line each', async () => {
  for (const [args, message] of [
    [['--add-host', 'nohost'], /^devbox: invalid --add-host "nohost"/],
    [['--dns', 'dns.example'], /^devbox: invalid --dns "dns\.example": not an IP address/],
  ] as const) {
    const r = await devbox(['run', '--rm', ...args, IMAGE, 'true']);
    assert.is(r.exitCode, 125);
    assert.match(r.stderr, message);
    assert.is(r.stderr.trim().split('\n').length, 1);
  }
});

test.run();
