/**
 * Dev Container Features end to end: OCI Features published to a real registry (Debian's docker-registry on
 * 127.0.0.1) as the distribution spec says, reached under their ghcr.io names through devbox's registryMirrors
 * setting; a local Feature; a tarball served over HTTP on loopback. Installed as layers of the environment's
 * image, in the spec's order, pinned in devbox.lock; and the mistakes a user makes, each one line.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { loadDevcontainerImage, sandboxFolder } from '../helpers/devcontainer.js';
import { packFeature, publishFeature, writeFeature, type FeatureFiles } from '../helpers/features.js';
import { testDir } from '../helpers/images.js';
import { projectDir } from '../helpers/project.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const IMAGE = 'localhost/dc-features-base:1';
const projects: string[] = [];
let registry: TestRegistry;
let configHome: string;
let server: http.Server | undefined;
const published = new Map<string, string>();

/** Runs devbox with settings whose registryMirrors send ghcr.io to the test registry (or `mirrors`). */
function withSettings(settings: Record<string, unknown>): NodeJS.ProcessEnv {
  const dir = join(configHome, String(Object.keys(published).length + Math.random()).replace('.', ''));
  mkdirSync(join(dir, 'devbox'), { recursive: true });
  writeFileSync(join(dir, 'devbox', 'config.json'), JSON.stringify(settings));
  return { XDG_CONFIG_HOME: dir };
}
let mirrored: NodeJS.ProcessEnv;

const FEATURES: Record<string, FeatureFiles> = {
  'common-utils:2': {
    metadata: { id: 'common-utils', version: '2.4.0', name: 'Common Utilities', options: { username: { type: 'string', default: 'automatic' } } },
    install: '#!/bin/sh\nset -e\necho "common-utils for $USERNAME" >> /installed\n',
  },
  'node:1': {
    metadata: {
      id: 'node',
      version: '1.5.0',
      name: 'Node.js',
      options: { version: { type: 'string', proposals: ['lts', '20'], default: 'lts' }, nodeGypDependencies: { type: 'boolean', default: true } },
      installsAfter: ['ghcr.io/devcontainers/features/common-utils'],
      containerEnv: { NVM_DIR: '/usr/local/share/nvm', PATH: '/usr/local/share/nvm/current/bin:${PATH}' },
      customizations: { vscode: { extensions: ['dbaeumer.vscode-eslint'] } },
    },
    install:
      '#!/bin/sh\nset -e\necho "node $VERSION gyp=$NODEGYPDEPENDENCIES for $_REMOTE_USER ($_REMOTE_USER_HOME)" >> /installed\nmkdir -p "$NVM_DIR/current/bin"\nprintf \'#!/bin/sh\\necho v20\\n\' > "$NVM_DIR/current/bin/node"\nchmod +x "$NVM_DIR/current/bin/node"\n',
  },
  'python:1': {
    metadata: {
      id: 'python',
      version: '1.2.0',
      name: 'Python',
      options: { version: { type: 'string', default: 'os-provided' } },
      dependsOn: { 'ghcr.io/devcontainers/features/common-utils:2': { username: 'vscode' } },
      postCreateCommand: 'echo "python postCreate" >> /tmp/hooks',
    },
    install: '#!/bin/sh\nset -e\necho "python $VERSION" >> /installed\n',
  },
};

async function publish(name: string, feature: FeatureFiles): Promise<string> {
  const dir = join(await testDir('feature'), name.split(':')[0]);
  writeFeature(dir, feature);
  const digest = await publishFeature(dir, `${registry.host}/devcontainers/features/${name}`);
  published.set(name, digest);
  return digest;
}

function project(config: Record<string, unknown>, files: Record<string, string> = {}): string {
  const root = projectDir({ '.devcontainer/devcontainer.json': JSON.stringify({ image: IMAGE, ...config }, null, 2), ...files });
  projects.push(root);
  return root;
}

test.before(async () => {
  registry = await startRegistry(await testDir('registry'));
  configHome = await testDir('config');
  mirrored = withSettings({ registryMirrors: { 'ghcr.io': [registry.host] } });
  for (const [name, feature] of Object.entries(FEATURES)) await publish(name, feature);
  await loadDevcontainerImage(IMAGE, { metadata: [{ remoteUser: 'vscode' }] });
});

test.after(async () => {
  for (const root of projects) await devbox(['stop'], { cwd: root });
  await registry?.stop();
  server?.close();
});

test('OCI Features through the mirror: options as variables, installsAfter and dependsOn, containerEnv, a layer each, pinned in devbox.lock', async () => {
  const root = project({
    features: {
      'ghcr.io/devcontainers/features/node:1': '20',
      'ghcr.io/devcontainers/features/python:1': { version: '3.11' },
    },
    postCreateCommand: 'echo "config postCreate" >> /tmp/hooks',
  });
  const r = await devboxOk(['run', 'sh', '-c', 'cat /installed; node; echo "$NVM_DIR"; cat /tmp/hooks'], { cwd: root, env: mirrored });
  assert.equal(r.stdout.trim().split('\n'), [
    // python's dependsOn brings common-utils with its options; node waits for common-utils (installsAfter).
    'common-utils for vscode',
    'node 20 gyp=true for vscode (/home/vscode)',
    'python 3.11',
    'v20',
    '/usr/local/share/nvm',
    'python postCreate',
    'config postCreate',
  ]);
  const lock = JSON.parse(readFileSync(join(root, 'devbox.lock'), 'utf8'));
  assert.equal(lock.features, {
    'ghcr.io/devcontainers/features/common-utils:2': { digest: published.get('common-utils:2') },
    'ghcr.io/devcontainers/features/node:1': { digest: published.get('node:1') },
    'ghcr.io/devcontainers/features/python:1': { digest: published.get('python:1') },
  });
  // The label records each Feature's metadata after the image's, customizations included.
  const state = JSON.parse(readFileSync(join(sandboxFolder(join(process.env.XDG_DATA_HOME!, 'devbox'), root), 'state.json'), 'utf8'));
  const [image] = JSON.parse((await devboxOk(['image', 'inspect', state.image])).stdout);
  assert.equal(JSON.parse(image.Config.Labels['devcontainer.metadata']), [
    { remoteUser: 'vscode' },
    { id: 'ghcr.io/devcontainers/features/common-utils:2' },
    { id: 'ghcr.io/devcontainers/features/node:1', customizations: { vscode: { extensions: ['dbaeumer.vscode-eslint'] } } },
    { id: 'ghcr.io/devcontainers/features/python:1', postCreateCommand: 'echo "python postCreate" >> /tmp/hooks' },
  ]);
  // A Feature added after the others reinstalls nothing before it: the build cache has their layers.
  writeFileSync(
    join(root, '.devcontainer/devcontainer.json'),
    JSON.stringify({
      image: IMAGE,
      features: { 'ghcr.io/devcontainers/features/node:1': '20', 'ghcr.io/devcontainers/features/python:1': { version: '3.11' }, './extra': {} },
    }),
  );
  writeFeature(join(root, '.devcontainer/extra'), {
    metadata: { id: 'extra', installsAfter: ['ghcr.io/devcontainers/features/python'] },
    install: '#!/bin/sh\necho extra >> /installed\n',
  });
  const again = await devboxOk(['run', 'cat', '/installed'], { cwd: root, env: mirrored });
  assert.is(again.stdout, 'common-utils for vscode\nnode 20 gyp=true for vscode (/home/vscode)\npython 3.11\nextra\n');
  const lines = again.stderr.split('\n');
  const steps = lines.flatMap((line, i) => (/^STEP \d+\/\d+: (COPY|RUN)/.test(line) ? [lines[i + 1] === '--> Using cache'] : []));
  assert.equal(steps, [...Array(2 + 2 * 3).fill(true), false, false], 'every step before the new Feature came from the cache');
});

test('a pinned Feature stays as devbox.lock says when its tag moves, until devbox update', async () => {
  const root = project({ features: { 'ghcr.io/devcontainers/features/common-utils:2': {} } });
  assert.is((await devboxOk(['run', 'cat', '/installed'], { cwd: root, env: mirrored })).stdout, 'common-utils for automatic\n');
  const moved = await publish('common-utils:2', { ...FEATURES['common-utils:2'], install: '#!/bin/sh\necho "common-utils 2.5" >> /installed\n' });
  // Another config, the same lock: the environment is built again, from the pinned Feature.
  writeFileSync(
    join(root, '.devcontainer/devcontainer.json'),
    JSON.stringify({ name: 'pinned', image: IMAGE, features: { 'ghcr.io/devcontainers/features/common-utils:2': {} } }),
  );
  assert.is((await devboxOk(['run', 'cat', '/installed'], { cwd: root, env: mirrored })).stdout, 'common-utils for automatic\n');
  const update = await devboxOk(['update'], { cwd: root, env: mirrored });
  assert.match(update.stdout, new RegExp(`ghcr.io/devcontainers/features/common-utils:2 ${moved}`));
  assert.is((await devboxOk(['run', 'cat', '/installed'], { cwd: root, env: mirrored })).stdout, 'common-utils 2.5\n');
  await publish('common-utils:2', FEATURES['common-utils:2']); // as it was, for the other tests
});

test('a local Feature beside devcontainer.json, and a Feature tarball at a URL', async () => {
  const tarball = gzipSync(
    await packFeature(
      (() => {
        const dir = join(projectDir(), 'tgz');
        writeFeature(dir, {
          metadata: { id: 'tgz', options: { flavour: { type: 'string', enum: ['plain', 'salted'], default: 'plain' } } },
          install: '#!/bin/sh\necho "tgz $FLAVOUR" >> /installed\n',
        });
        return dir;
      })(),
    ),
  );
  server = http.createServer((req, res) => {
    if (req.url === '/devcontainer-feature-tgz.tgz') res.writeHead(200).end(tarball);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/devcontainer-feature-tgz.tgz`;
  const root = project({ features: { './local-features/hello': { greeting: 'hi' }, [url]: { flavour: 'salted' } } });
  writeFeature(join(root, '.devcontainer/local-features/hello'), {
    metadata: { id: 'hello', options: { greeting: { type: 'string', default: 'hello' } }, containerEnv: { HELLO: '$GREETING' } },
    install: '#!/bin/sh\necho "hello $GREETING" >> /installed\n',
  });
  const r = await devboxOk(['run', 'cat', '/installed'], { cwd: root });
  assert.is(r.stdout, 'hello hi\ntgz salted\n');
  const lock = JSON.parse(readFileSync(join(root, 'devbox.lock'), 'utf8'));
  assert.equal(Object.keys(lock.features), [url], 'a tarball is pinned by digest; a local Feature is part of the repo');
  // The local Feature's files are inputs: a change installs it again.
  writeFileSync(join(root, '.devcontainer/local-features/hello/install.sh'), '#!/bin/sh\necho "hello again $GREETING" >> /installed\n');
  assert.is((await devboxOk(['run', 'cat', '/installed'], { cwd: root })).stdout, 'hello again hi\ntgz salted\n');
});

test('bad input: an unknown Feature, an unreachable registry, an option of the wrong type, a dependsOn cycle: one line each, at file:line', async () => {
  const config = (features: Record<string, unknown>) => project({ features });
  const line = async (root: string, env: NodeJS.ProcessEnv) => {
    const r = await devbox(['run', 'true'], { cwd: root, env });
    assert.is(r.exitCode, 125, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.is(lines.length, 1, r.stderr);
    return lines[0].replace(root, 'ROOT');
  };
  const unknown = config({ 'ghcr.io/devcontainers/features/nosuch:1': {} });
  assert.match(
    await line(unknown, mirrored),
    /^devbox: ROOT\/\.devcontainer\/devcontainer\.json:\d+:\d+: "features\.ghcr\.io\/devcontainers\/features\/nosuch:1" cannot be fetched: cannot pull ghcr\.io\/devcontainers\/features\/nosuch:1: .*404 manifest unknown/,
  );
  const unreachable = config({ 'ghcr.io/devcontainers/features/node:1': {} });
  const down = await line(unreachable, withSettings({ registryMirrors: { 'ghcr.io': ['127.0.0.1:9'] } }));
  assert.match(
    down,
    /"features\.ghcr\.io\/devcontainers\/features\/node:1" cannot be fetched: .*127\.0\.0\.1:9: cannot reach 127\.0\.0\.1:9: connection refused/,
  );
  assert.match(down, /looked in mirror 127\.0\.0\.1:9, then ghcr\.io; check the "registryMirrors" setting/);
  assert.match(await line(unreachable, withSettings({})), /no registry mirror is set for ghcr\.io: devbox config set registryMirrors/);
  const wrongType = config({ 'ghcr.io/devcontainers/features/node:1': { nodeGypDependencies: 'sometimes' } });
  assert.match(
    await line(wrongType, mirrored),
    /devcontainer\.json:\d+:\d+: "features\.ghcr\.io\/devcontainers\/features\/node:1\.nodeGypDependencies" must be true or false \(option "nodeGypDependencies" of Feature node is a boolean\), not "sometimes"$/,
  );
  const cycle = config({ './a': {} });
  writeFeature(join(cycle, '.devcontainer/a'), { metadata: { id: 'a', dependsOn: { './b': {} } }, install: '#!/bin/sh\n' });
  writeFeature(join(cycle, '.devcontainer/b'), { metadata: { id: 'b', dependsOn: { './a': {} } }, install: '#!/bin/sh\n' });
  assert.match(await line(cycle, mirrored), /devcontainer\.json:\d+:\d+: "features" form a cycle of dependencies: \.\/a → \.\/b → \.\/a/);
});

test.run();
