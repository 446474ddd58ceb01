import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { loadProject } from '../../src/project/load.js';
import { projectNetwork } from '../../src/project/network.js';
import { errorLine, projectDir } from '../helpers/project.js';

const SETTINGS = { autoForward: true, allowHostLoopback: false };

function network(files: Record<string, string>) {
  const root = projectDir(files);
  return { root, network: () => projectNetwork(loadProject(root, { env: {}, home: '/home/alice' }), SETTINGS) };
}

test("a project's ports are published on 127.0.0.1 unless an address is given; the settings decide auto-forward", () => {
  const { network: of } = network({ 'devbox.json': JSON.stringify({ image: 'x', ports: [3000, '0.0.0.0:8080:80', '5353/udp'] }) });
  assert.equal(of().options, {
    mode: 'slirp4netns',
    publish: [
      { hostIp: '127.0.0.1', hostPort: 3000, containerPort: 3000, protocol: 'tcp' },
      { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 5353, protocol: 'udp' },
    ],
    autoForward: true,
    allowHostLoopback: false,
  });
});

test('ports only apply to slirp4netns: the host network and none publish nothing', () => {
  for (const mode of ['host', 'none']) {
    const { network: of } = network({ 'devbox.json': JSON.stringify({ image: 'x', network: mode, ports: [3000] }) });
    assert.equal(of().options.publish, []);
    assert.is(of().options.mode, mode);
  }
});

test('error hints name the config file and its keys', () => {
  const devbox = network({ 'devbox.json': JSON.stringify({ image: 'x' }) });
  const fixes = devbox.network().fixes;
  assert.is(fixes.withoutSlirp4netns, `set "network": "host" in ${join(devbox.root, 'devbox.json')}`);
  assert.is(fixes.otherHostPort(3001, 3000), `"ports": ["3001:3000"] in ${join(devbox.root, 'devbox.json')}`);
  const devcontainer = network({ '.devcontainer.json': JSON.stringify({ image: 'x', forwardPorts: [3000] }) });
  assert.is(devcontainer.network().fixes.withoutSlirp4netns, undefined, 'devcontainer.json has no network setting');
  assert.match(
    devcontainer.network().fixes.otherHostPort(3001, 3000),
    /^"ports": \["3001:3000"\] in a devbox\.json, which takes precedence over .*\.devcontainer\.json$/,
  );
});

test('an IPv6 host address or a host port given twice: one line naming the file and the key', async () => {
  const v6 = network({ 'devbox.json': JSON.stringify({ image: 'x', ports: ['[::1]:3000:3000'] }) });
  assert.is(
    await errorLine(v6.network),
    `${join(v6.root, 'devbox.json')}: "ports": cannot publish port 3000 on ::1: slirp4netns publishes on IPv4 addresses only (give an IPv4 address such as 127.0.0.1, or none)`,
  );
  const twice = network({ 'devbox.json': JSON.stringify({ image: 'x', ports: ['3000', '3000:80'] }) });
  assert.match(
    await errorLine(twice.network),
    /devbox\.json: "ports": host port 3000\/tcp is published twice \(127\.0\.0\.1:3000->3000\/tcp, 127\.0\.0\.1:3000->80\/tcp\) \(give each port its own host port\)$/,
  );
});

test.run();
