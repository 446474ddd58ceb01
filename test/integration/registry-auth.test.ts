/**
 * Authentication against real registries: htpasswd (basic) and token auth (a token server of the test's,
 * trusted by the registry through a certificate made for the run). devbox login checks and stores
 * credentials with mode 0600 and never prints them; credentials written by skopeo and Docker's config.json
 * are used as they are, and so are those a Docker credential helper holds.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { createImageSuite, dockerArchive, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, packTar } from '../helpers/images.js';
import { writeCredentialHelper } from '../helpers/credential-helper.js';
import { seedImage, skopeo, startRegistry, startTokenServer, writeHtpasswd, type TestRegistry, type TokenServer } from '../helpers/registry.js';

const USER = 'alice';
const PASSWORD = 's3cret-Pa55word';

let suite: ImageSuite;
let basic: TestRegistry;
let tokenRegistry: TestRegistry;
let tokens: TokenServer;
let archive: string;

const fixtures = once(async () => {
  suite = await createImageSuite('registry-auth');
  archive = join(await suite.tempDir('seed'), 'image.tar');
  const layers = [await packTar(busyboxRootfs()), await packTar([{ name: 'etc/marker', content: 'authorized\n' }])];
  writeFileSync(archive, await dockerArchive([{ layers, names: ['app:1'], config: { Cmd: ['cat', '/etc/marker'] } }]));
  const htpasswd = join(await suite.tempDir('htpasswd'), 'htpasswd');
  writeHtpasswd(htpasswd, USER, PASSWORD);
  basic = await startRegistry(await suite.tempDir('basic'), { htpasswd });
  tokens = await startTokenServer(await suite.tempDir('tokens'), USER, PASSWORD);
  tokenRegistry = await startRegistry(await suite.tempDir('token-registry'), { token: tokens });
  await seedImage(archive, `${basic.host}/app:1`, `${USER}:${PASSWORD}`);
  await seedImage(archive, `${tokenRegistry.host}/app:1`, `${USER}:${PASSWORD}`);
});

test.before.each(fixtures);

test.after(async () => {
  await basic?.stop();
  await tokenRegistry?.stop();
  await tokens?.stop();
  await suite?.cleanup();
});

const authFile = () => join(suite.dir, 'config', 'devbox', 'auth.json');
const login = (host: string, password: string) => suite.devbox(['login', '-u', USER, '--password-stdin', host], { input: `${password}\n` });

for (const kind of ['htpasswd (basic)', 'token'] as const) {
  const registry = () => (kind === 'token' ? tokenRegistry : basic);

  test(`${kind}: an anonymous pull is refused with one line that says to log in, the store unchanged`, async () => {
    const before = suite.snapshot();
    const r = await suite.devbox(['pull', `${registry().host}/app:1`]);
    assert.is(r.exitCode, 1);
    assert.is(
      r.stderr.trim().split('\n').pop(),
      `devbox: cannot pull ${registry().host}/app:1: ${registry().host} requires authentication (devbox login ${registry().host})`,
    );
    assert.is(suite.snapshot(), before);
  });

  test(`${kind}: a wrong password fails the login and stores nothing`, async () => {
    const r = await login(registry().host, 'Xq-bad-pass-Z');
    assert.is(r.exitCode, 1);
    assert.match(r.stderr, `devbox: cannot log in to ${registry().host}`);
    assert.not.match(r.stderr + r.stdout, 'Xq-bad-pass-Z');
    assert.not.ok(existsSync(authFile()) && JSON.parse(readFileSync(authFile(), 'utf8')).auths[registry().host]);
  });

  test(`${kind}: login stores the credentials (0600, never printed), pull works, logout removes them`, async () => {
    const r = await login(registry().host, PASSWORD);
    assert.is(r.exitCode, 0, r.stderr);
    assert.is(r.stdout, 'Login Succeeded!\n');
    assert.not.match(r.stdout + r.stderr, PASSWORD);
    assert.is(statSync(authFile()).mode & 0o777, 0o600);
    const stored = JSON.parse(readFileSync(authFile(), 'utf8'));
    assert.is(Buffer.from(stored.auths[registry().host].auth, 'base64').toString(), `${USER}:${PASSWORD}`);

    const pulled = await suite.devbox(['pull', `${registry().host}/app:1`]);
    assert.is(pulled.exitCode, 0, pulled.stderr);
    assert.not.match(pulled.stdout + pulled.stderr, PASSWORD);
    assert.is((await suite.devboxOk(['run', '--rm', `${registry().host}/app:1`])).stdout, 'authorized\n');
    if (kind === 'token')
      assert.ok(
        tokens.requests.some((s) => s.includes('repository:app:pull')),
        JSON.stringify(tokens.requests),
      );

    assert.is((await suite.devboxOk(['logout', registry().host])).stdout, `Removed login credentials for ${registry().host}\n`);
    assert.equal(JSON.parse(readFileSync(authFile(), 'utf8')).auths, {});
    await suite.devboxOk(['rmi', `${registry().host}/app:1`]);
    assert.is((await suite.devbox(['pull', `${registry().host}/app:1`])).exitCode, 1);
    const again = await suite.devbox(['logout', registry().host]);
    assert.is(again.stderr, `devbox: not logged in to ${registry().host}\n`);
  });
}

test('credentials that skopeo (containers auth.json) and Docker (config.json) stored are used', async () => {
  const dir = await suite.tempDir('foreign-auth');
  const containersAuth = join(dir, 'auth.json');
  await skopeo(['login', '--tls-verify=false', '--authfile', containersAuth, '-u', USER, '-p', PASSWORD, basic.host]);
  const viaSkopeo = await suite.devbox(['pull', '-q', `${basic.host}/app:1`], { env: { REGISTRY_AUTH_FILE: containersAuth } });
  assert.is(viaSkopeo.exitCode, 0, viaSkopeo.stderr);
  await suite.devboxOk(['rmi', `${basic.host}/app:1`]);

  const dockerConfig = join(dir, 'docker');
  mkdirSync(dockerConfig);
  writeFileSync(
    join(dockerConfig, 'config.json'),
    JSON.stringify({ auths: { [`http://${tokenRegistry.host}`]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }),
  );
  const viaDocker = await suite.devbox(['pull', '-q', `${tokenRegistry.host}/app:1`], { env: { DOCKER_CONFIG: dockerConfig } });
  assert.is(viaDocker.exitCode, 0, viaDocker.stderr);
  const logout = await suite.devbox(['logout', tokenRegistry.host], { env: { DOCKER_CONFIG: dockerConfig } });
  assert.is(logout.exitCode, 1);
  assert.match(logout.stderr, `the credentials in use come from ${join(dockerConfig, 'config.json')}`);
});

test('a Docker credential helper named in config.json (credHelpers) provides the credentials for a token registry', async () => {
  const dir = await suite.tempDir('credential-helper');
  writeCredentialHelper(dir, 'devbox-test', { [tokenRegistry.host]: { username: USER, secret: PASSWORD } });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ credHelpers: { [tokenRegistry.host]: 'devbox-test' } }));
  const env = { DOCKER_CONFIG: dir, PATH: `${dir}:${process.env.PATH}` };
  const pulled = await suite.devbox(['pull', `${tokenRegistry.host}/app:1`], { env });
  assert.is(pulled.exitCode, 0, pulled.stderr);
  assert.not.match(pulled.stdout + pulled.stderr, PASSWORD);
  assert.is(readFileSync(join(dir, 'asked'), 'utf8'), `${tokenRegistry.host}\n`);
  assert.is((await suite.devboxOk(['run', '--rm', `${tokenRegistry.host}/app:1`])).stdout, 'authorized\n');
  await suite.devboxOk(['rmi', `${tokenRegistry.host}/app:1`]);
  // Without the helper on PATH the same config is one line naming it.
  const missing = await suite.devbox(['pull', `${tokenRegistry.host}/app:1`], { env: { DOCKER_CONFIG: dir } });
  assert.is(missing.exitCode, 1);
  assert.is(
    missing.stderr.trim().split('\n').pop(),
    `devbox: cannot pull ${tokenRegistry.host}/app:1: ${join(dir, 'config.json')} names the credential helper docker-credential-devbox-test for ${tokenRegistry.host}, which is not installed (install docker-credential-devbox-test, or remove it from ${join(dir, 'config.json')})`,
  );
});

test.run();
