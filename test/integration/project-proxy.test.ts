/**
 * Behind a corporate proxy: the host's proxy variables and Docker's `proxies` in ~/.docker/config.json reach
 * builds and project sandboxes; the caCertificates setting makes a sandbox trust the CAs of a TLS-intercepting
 * proxy, tried for real: npm (the host's Node.js, bound into a Debian minbase image) asks registry.npmjs.org
 * for a package version through this machine's network.
 */
import { connect } from 'node:tls';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { importBusybox, minbaseTar, testDir } from '../helpers/images.js';
import { projectDir } from '../helpers/project.js';

const projects: string[] = [];
const HOST_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** Settings of their own for some runs: XDG_CONFIG_HOME with config.json. */
async function settings(values: Record<string, unknown>): Promise<NodeJS.ProcessEnv> {
  const dir = await testDir('config');
  mkdirSync(join(dir, 'devbox'));
  writeFileSync(join(dir, 'devbox', 'config.json'), JSON.stringify(values));
  return { XDG_CONFIG_HOME: dir };
}

/** Whether HTTPS to the npm registry is re-signed by a CA Node.js does not ship (a TLS-intercepting proxy). */
function intercepted(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: 'registry.npmjs.org', port: 443, servername: 'registry.npmjs.org' }, () => {
      socket.end();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(/SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/.test(error.code ?? '')));
  });
}

test.after(async () => {
  for (const root of projects) await devbox(['stop'], { cwd: root });
});

test("the host's proxy variables and docker's config.json proxies reach a build's RUN and the sandbox, in both spellings", async () => {
  const image = await importBusybox('localhost/proxy-busybox:1');
  const docker = await testDir('docker');
  writeFileSync(
    join(docker, 'config.json'),
    JSON.stringify({ proxies: { default: { httpProxy: 'http://docker-proxy.invalid:3128', noProxy: 'localhost,.lan' } } }),
  );
  const root = projectDir({
    'devbox.json': '{}',
    '.devbox/Dockerfile': `FROM ${image}\nRUN env | grep -i _proxy= | sort > /build-proxies\n`,
  });
  projects.push(root);
  const env = { DOCKER_CONFIG: docker, HTTPS_PROXY: 'http://host-proxy.invalid:8080', https_proxy: 'http://host-proxy.invalid:8080' };
  const r = await devboxOk(['run', 'sh', '-c', 'cat /build-proxies; echo --; env | grep -i _proxy= | sort'], { cwd: root, env });
  const expected = [
    'HTTPS_PROXY=http://host-proxy.invalid:8080',
    'HTTP_PROXY=http://docker-proxy.invalid:3128',
    'NO_PROXY=localhost,.lan',
    'http_proxy=http://docker-proxy.invalid:3128',
    'https_proxy=http://host-proxy.invalid:8080',
    'no_proxy=localhost,.lan',
  ];
  assert.equal(r.stdout.trim().split('\n'), [...expected, '--', ...expected]);
});

test('caCertificates: npm inside reaches registry.npmjs.org through the TLS-intercepting proxy', async () => {
  await devboxOk(['image', 'import', minbaseTar(), 'localhost/proxy-minbase:1']);
  const npm = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  const root = projectDir({
    'devbox.json': JSON.stringify({
      image: 'localhost/proxy-minbase:1',
      mounts: [`${process.execPath}:/usr/local/bin/node:ro`, `${dirname(dirname(npm))}:/opt/npm:ro`],
    }),
  });
  projects.push(root);
  const view = ['run', 'node', '/opt/npm/bin/npm-cli.js', 'view', 'is-number@7.0.0', 'version', '--fetch-retries=0'];
  if (await intercepted()) {
    const refused = await devbox(view, { cwd: root });
    assert.is.not(refused.exitCode, 0);
    assert.match(refused.stdout + refused.stderr, /SELF_SIGNED_CERT_IN_CHAIN|self-signed certificate/);
    await devboxOk(['stop'], { cwd: root });
  } else console.log('  (no TLS-intercepting proxy in front of registry.npmjs.org here: only the trusted case is tried)');
  const trusted = await settings({ caCertificates: HOST_BUNDLE });
  const r = await devboxOk(view, { cwd: root, env: trusted });
  assert.is(r.stdout, '7.0.0\n');
  const inside = await devboxOk(
    ['run', 'sh', '-c', 'echo "$NODE_EXTRA_CA_CERTS $REQUESTS_CA_BUNDLE $SSL_CERT_FILE"; grep -c BEGIN /etc/ssl/certs/ca-certificates.crt'],
    {
      cwd: root,
      env: trusted,
    },
  );
  const [variables, count] = inside.stdout.trim().split('\n');
  assert.is(variables, '/etc/devbox/ca-certificates.crt /etc/devbox/ca-certificates.crt /etc/devbox/ca-certificates.crt');
  assert.ok(Number(count) > 0);
});

test.run();
