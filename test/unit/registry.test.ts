import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { writeCredentialHelper } from '../helpers/credential-helper.js';
import type { Descriptor } from '../../src/image/oci.js';
import { formatPlatform, matchPlatform, parsePlatform } from '../../src/image/platform.js';
import { parseReference } from '../../src/image/reference.js';
import { parseChallenge, repositoryScope } from '../../src/registry/auth.js';
import { helperServerAddress } from '../../src/registry/credential-helper.js';
import { findCredentials, normalizeAuthKey } from '../../src/registry/credentials.js';
import { pullEndpoints, registryEndpoint } from '../../src/registry/endpoints.js';
import { registryHost } from '../../src/registry/login.js';
import { readBody, send } from '../../src/registry/http.js';
import { selectIndexEntry } from '../../src/registry/manifest.js';

const scratch: string[] = [];

function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

test.after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

test('a keep-alive connection serving many responses keeps one idle-timeout listener, not one per response', async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  try {
    let socket: Socket | undefined;
    for (let i = 0; i < 20; i++) {
      const response = await send({ method: 'GET', url });
      socket = response.body.socket;
      await readBody(response, 100, 'test');
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(socket!.listenerCount('timeout') <= 1, `${socket!.listenerCount('timeout')} timeout listeners`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('WWW-Authenticate: Bearer with quoted parameters, escapes and a scope list; Basic with a realm', () => {
  assert.equal(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
  });
  assert.equal(parseChallenge('Basic realm="say \\"hi\\"", charset=UTF-8'), { scheme: 'basic', params: { realm: 'say "hi"', charset: 'UTF-8' } });
  assert.equal(parseChallenge('Bearer realm="r",scope="a:b:pull a:c:pull"')!.params.scope, 'a:b:pull a:c:pull');
  assert.is(parseChallenge(''), undefined);
  assert.is(repositoryScope('team/app', ['pull', 'push']), 'repository:team/app:pull,push');
});

test('platforms parse like --platform, and index entries match os/arch with arm64 meaning arm64/v8', () => {
  assert.equal(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.equal(parsePlatform('x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.throws(() => parsePlatform('linux/'), /invalid platform "linux\/"/);
  assert.throws(() => parsePlatform('a/b/c/d'), /invalid platform/);
  const entry = (architecture: string, variant?: string): Descriptor => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${architecture.padEnd(64, '0')}`,
    size: 1,
    platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) },
  });
  const list = [entry('arm', 'v7'), entry('arm', 'v6'), entry('arm64'), entry('amd64')];
  assert.is(matchPlatform(list, parsePlatform('linux/arm64/v8')), list[2]);
  assert.is(matchPlatform(list, parsePlatform('linux/arm')), list[0]);
  assert.is(matchPlatform(list, parsePlatform('linux/arm/v6')), list[1]);
  assert.is(matchPlatform(list, parsePlatform('linux/386')), undefined);
  assert.throws(
    () => selectIndexEntry(list, parsePlatform('linux/s390x')),
    /no image for linux\/s390x \(the image has linux\/arm\/v7, linux\/arm\/v6, linux\/arm64, linux\/amd64\)/,
  );
  assert.is(formatPlatform(parsePlatform('linux/arm/v7')), 'linux/arm/v7');
});

test('endpoints: mirrors in order with their path prefix, then the registry; loopback and listed registries over plain HTTP', () => {
  const settings = { registryMirrors: { 'docker.io': ['mirror.lan:5000', 'https://cache.lan/hub/'] }, insecureRegistries: ['mirror.lan:5000'] };
  assert.equal(pullEndpoints(parseReference('busybox'), settings), [
    { origin: 'http://mirror.lan:5000', host: 'mirror.lan:5000', path: 'library/busybox', mirror: true },
    { origin: 'https://cache.lan', host: 'cache.lan', path: 'hub/library/busybox', mirror: true },
    { origin: 'https://registry-1.docker.io', host: 'docker.io', path: 'library/busybox', mirror: false },
  ]);
  assert.is(registryEndpoint(parseReference('localhost:5000/a'), settings).origin, 'http://localhost:5000');
  assert.is(registryEndpoint(parseReference('127.0.0.1:5000/a'), settings).origin, 'http://127.0.0.1:5000');
  assert.is(registryEndpoint(parseReference('quay.io/a/b'), settings).origin, 'https://quay.io');
  assert.throws(
    () => pullEndpoints(parseReference('busybox'), { registryMirrors: { 'docker.io': ['bad host!'] }, insecureRegistries: [] }),
    /registry mirror "bad host!" of docker.io is not host\[:port\]\[\/path\]/,
  );
});

test('credential keys as Docker and podman write them, and the most specific key wins', () => {
  assert.is(normalizeAuthKey('https://index.docker.io/v1/'), 'docker.io');
  assert.is(normalizeAuthKey('http://127.0.0.1:5000'), '127.0.0.1:5000');
  assert.is(normalizeAuthKey('quay.io/team'), 'quay.io/team');
  const dir = scratchDir('devbox-creds-');
  const auth = (user: string) => ({ auth: Buffer.from(`${user}:pw`).toString('base64') });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ auths: { 'quay.io': auth('any'), 'quay.io/team': auth('team'), 'https://index.docker.io/v1/': auth('hub') } }),
  );
  const saved = { ...process.env };
  Object.assign(process.env, { DOCKER_CONFIG: dir, XDG_CONFIG_HOME: join(dir, 'none') });
  delete process.env.REGISTRY_AUTH_FILE;
  delete process.env.XDG_RUNTIME_DIR;
  try {
    assert.is(findCredentials('quay.io', 'team/app')?.username, 'team');
    assert.is(findCredentials('quay.io', 'other/app')?.username, 'any');
    assert.is(findCredentials('docker.io', 'library/busybox')?.username, 'hub');
    assert.is(findCredentials('ghcr.io', 'x'), undefined);
  } finally {
    process.env = saved;
  }
});

/** Runs `check` with DOCKER_CONFIG holding `config` and only it as a credentials source, `dir` first on PATH. */
function withDockerConfig(dir: string, config: object, check: () => void): void {
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const saved = { ...process.env };
  Object.assign(process.env, { DOCKER_CONFIG: dir, XDG_CONFIG_HOME: join(dir, 'none'), PATH: `${dir}:${process.env.PATH}` });
  delete process.env.REGISTRY_AUTH_FILE;
  delete process.env.XDG_RUNTIME_DIR;
  try {
    check();
  } finally {
    process.env = saved;
  }
}

test('credential helpers: credHelpers for its registry first, then auths, then credsStore; "not found" moves on', () => {
  const dir = scratchDir('devbox-helpers-');
  writeCredentialHelper(dir, 'team', { 'quay.io': { username: 'from-team-helper', secret: 't0k' } });
  writeCredentialHelper(dir, 'store', {
    'https://index.docker.io/v1/': { username: 'hub-user', secret: 'hub' },
    'quay.io': { username: 'from-store', secret: 's' },
    'ghcr.io': { username: 'store-ghcr', secret: 'g' },
  });
  const auth = (user: string) => ({ auth: Buffer.from(`${user}:pw`).toString('base64') });
  withDockerConfig(
    dir,
    { credHelpers: { 'quay.io': 'team', 'ghcr.io': 'team' }, credsStore: 'store', auths: { 'quay.io': auth('from-auths'), 'ghcr.io': auth('ghcr-auths') } },
    () => {
      const quay = findCredentials('quay.io', 'a/b');
      assert.equal(quay && { username: quay.username, password: quay.password }, { username: 'from-team-helper', password: 't0k' });
      assert.is(quay?.source, `${join(dir, 'config.json')} (docker-credential-team)`);
      // The named helper has nothing for ghcr.io: auths is next, before the default store.
      assert.is(findCredentials('ghcr.io', 'x')?.username, 'ghcr-auths');
      assert.is(findCredentials('docker.io', 'library/busybox')?.username, 'hub-user');
      assert.is(findCredentials('example.com', 'x'), undefined);
    },
  );
  assert.equal(readFileSync(join(dir, 'asked'), 'utf8').split('\n').filter(Boolean), ['quay.io', 'ghcr.io', 'https://index.docker.io/v1/', 'example.com']);
  assert.is(helperServerAddress('docker.io'), 'https://index.docker.io/v1/');
});

test('credential helpers: a missing helper, an identity token and a failing helper are one line each, without the secret', () => {
  const dir = scratchDir('devbox-helpers-');
  writeCredentialHelper(dir, 'oauth', { 'quay.io': { username: '<token>', secret: 'refresh-SECRET' } });
  writeFileSync(join(dir, 'docker-credential-broken'), '#!/bin/sh\necho "gpg: decryption failed: No secret key" >&2\nexit 3\n', { mode: 0o755 });
  withDockerConfig(dir, { credHelpers: { 'quay.io': 'oauth', 'ghcr.io': 'absent', 'gitlab.com': 'broken' } }, () => {
    assert.throws(
      () => findCredentials('quay.io'),
      (e: Error) => /docker-credential-oauth holds an identity token for quay.io, which devbox cannot use/.test(e.message) && !e.message.includes('SECRET'),
    );
    assert.throws(() => findCredentials('ghcr.io'), /names the credential helper docker-credential-absent for ghcr.io, which is not installed/);
    // It exits without reading the address, often before devbox has written it (EPIPE): its own message every time.
    for (let i = 0; i < 50; i++) {
      assert.throws(
        () => findCredentials('gitlab.com'),
        /^the credential helper docker-credential-broken failed for gitlab.com: gpg: decryption failed: No secret key$/,
      );
    }
  });
});

test('login takes a registry as users write it', () => {
  assert.is(registryHost('https://registry.example.com:5000/'), 'registry.example.com:5000');
  assert.is(registryHost('index.docker.io'), 'docker.io');
  assert.is(registryHost('localhost:5000'), 'localhost:5000');
  assert.throws(() => registryHost('not a host'), /"not a host" is not a registry host\[:port\]/);
});

test.run();
