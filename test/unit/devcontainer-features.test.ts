import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { featuresDockerfile } from '../../src/project/devcontainer/feature-build.js';
import type { FeatureMetadata } from '../../src/project/devcontainer/feature-metadata.js';
import { givenOptions, optionsEnvFile, optionVariable, resolveOptions } from '../../src/project/devcontainer/feature-options.js';
import { installOrder, type OrderNode } from '../../src/project/devcontainer/feature-order.js';
import type { ResolvedFeature } from '../../src/project/devcontainer/feature-resolve.js';
import { extractFeatureTar, parseFeatureSource } from '../../src/project/devcontainer/feature-source.js';
import { packTar } from '../helpers/images.js';

const FOLDER = '/src/app/.devcontainer';

test('Feature references: OCI (lowercase, :latest implied, digests), local folders below devcontainer.json, https tarballs', () => {
  assert.equal(parseFeatureSource('ghcr.io/devcontainers/features/Node:1', FOLDER), { kind: 'oci', resource: 'ghcr.io/devcontainers/features/node', tag: '1' });
  assert.equal(parseFeatureSource('ghcr.io/devcontainers/features/node', FOLDER), { kind: 'oci', resource: 'ghcr.io/devcontainers/features/node' });
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.equal(parseFeatureSource(`ghcr.io/x/y/z@${digest}`, FOLDER), { kind: 'oci', resource: 'ghcr.io/x/y/z', digest });
  assert.equal(parseFeatureSource('./local-features/copy-kube-config', FOLDER), { kind: 'local', path: `${FOLDER}/local-features/copy-kube-config` });
  assert.equal(parseFeatureSource('https://example.com/devcontainer-feature-go.tgz', FOLDER), {
    kind: 'tarball',
    url: 'https://example.com/devcontainer-feature-go.tgz',
  });
  assert.equal(parseFeatureSource('http://127.0.0.1:8080/devcontainer-feature-go.tgz', FOLDER), {
    kind: 'tarball',
    url: 'http://127.0.0.1:8080/devcontainer-feature-go.tgz',
  });
  const refused: [string, string][] = [
    ['../elsewhere', 'a local Feature must be in a folder below the one of devcontainer.json'],
    ['./', 'a local Feature must be in a folder below the one of devcontainer.json'],
    ['/opt/feature', 'a local Feature is given by a path relative to devcontainer.json (./NAME), not an absolute one'],
    ['http://example.com/f.tgz', 'a Feature tarball is fetched over https://'],
    ['node', 'is not a Feature reference devbox knows: an OCI reference (ghcr.io/OWNER/REPO/NAME:VERSION), ./path or an https:// tarball URL'],
    [
      'devcontainers/features/node@v1',
      'is not a Feature reference devbox knows: an OCI reference (ghcr.io/OWNER/REPO/NAME:VERSION), ./path or an https:// tarball URL',
    ],
  ];
  for (const [id, reason] of refused) assert.equal(parseFeatureSource(id, FOLDER), { invalid: reason }, id);
});

const PYTHON: FeatureMetadata = {
  id: 'python',
  options: {
    version: { type: 'string', enum: ['latest', '3.10', '3.9'], default: 'latest' },
    pip: { type: 'boolean', default: true },
    optimize: { type: 'boolean', default: true },
  },
};

test("options: the spec's example, defaults for the rest; the version shorthand; booleans as the templates write them", () => {
  const given = givenOptions({ version: '3.10', pip: false }, PYTHON);
  assert.ok(given.ok);
  const { values, problems } = resolveOptions(given.value, PYTHON);
  assert.equal(problems, []);
  assert.is(optionsEnvFile(values), 'VERSION="3.10"\nPIP="false"\nOPTIMIZE="true"');
  assert.equal(givenOptions('3.9', PYTHON), { ok: true, value: { version: '3.9' } });
  assert.equal(resolveOptions({ pip: 'false', extra: 'kept' }, PYTHON).values, { version: 'latest', pip: 'false', optimize: 'true', extra: 'kept' });
  assert.equal(givenOptions('1', { id: 'x' }), {
    ok: false,
    reason: 'is "1", the short form of a "version" option, which Feature x does not have (give options as an object)',
  });
  assert.equal(resolveOptions({ pip: 'yes', version: '2.7' }, PYTHON).problems, [
    { option: 'pip', message: 'must be true or false (option "pip" of Feature python is a boolean), not "yes"' },
    { option: 'version', message: 'must be one of "latest", "3.10", "3.9" (option "version" of Feature python), not "2.7"' },
  ]);
});

test('options: variable names as the spec makes them, values that sh reads back as given', () => {
  assert.equal(['version', 'installZsh', 'node-version', '2fa', '_x'].map(optionVariable), ['VERSION', 'INSTALLZSH', 'NODE_VERSION', '_FA', '_X']);
  const file = optionsEnvFile({ a: 'plain', b: 'it\'s "quoted" $HOME `x`' });
  assert.is(file, `A="plain"\nB='it'\\''s "quoted" $HOME \`x\`'`);
});

function node(key: string, extra: Partial<OrderNode> = {}): OrderNode {
  return { key, resource: `ghcr.io/f/${key}`, aliases: [], options: {}, dependsOn: [], installsAfter: [], ...extra };
}
const keys = (nodes: OrderNode[]) => nodes.map((n) => n.key);

test('install order: dependsOn and installsAfter before, rounds sorted by resource, overrideFeatureInstallOrder pulls forward', () => {
  const nodes = [
    node('node', { installsAfter: ['ghcr.io/f/common'] }),
    node('common'),
    node('python', { dependsOn: ['oryx'] }),
    node('oryx'),
    node('go', { installsAfter: ['ghcr.io/f/not-installed'] }),
  ];
  assert.equal(keys(installOrder(nodes)), ['common', 'go', 'oryx', 'node', 'python']);
  // Priority never beats a dependency (python still waits for oryx), but wins a round: python before node.
  assert.equal(keys(installOrder(nodes, ['ghcr.io/f/python', 'ghcr.io/f/node'])), ['common', 'go', 'oryx', 'python', 'node']);
  // Within a round, the override commits its Features first and leaves the others to later rounds.
  assert.equal(keys(installOrder([node('a'), node('b'), node('c')], ['ghcr.io/f/c', 'ghcr.io/f/b'])), ['c', 'b', 'a']);
  // The same resource: older tags first, then more options.
  const tagged = [node('b', { resource: 'r', tag: 'latest' }), node('a', { resource: 'r', tag: '1.10' }), node('c', { resource: 'r', tag: '1.9' })];
  assert.equal(keys(installOrder(tagged)), ['c', 'a', 'b']);
  // legacyIds: installsAfter may name the old id.
  assert.equal(keys(installOrder([node('x', { installsAfter: ['ghcr.io/f/old'] }), node('new', { aliases: ['ghcr.io/f/old'] })])), ['new', 'x']);
});

test('install order: a cycle is an error naming its path; an override of no Feature is one too', () => {
  const cycle = [node('a', { dependsOn: ['b'] }), node('b', { installsAfter: ['ghcr.io/f/c'] }), node('c', { dependsOn: ['a'] }), node('d')];
  assert.throws(() => installOrder(cycle), /form a cycle of dependencies: a → b → c → a/);
  assert.throws(() => installOrder([node('a')], ['ghcr.io/f/zzz']), /overrideFeatureInstallOrder names ghcr.io\/f\/zzz, which is not a Feature/);
});

test('the generated build: each Feature its containerEnv, then one COPY and one RUN, in order; the users for _REMOTE_USER', () => {
  const feature = (id: string, containerEnv?: Record<string, string>): ResolvedFeature => ({
    id: `ghcr.io/f/${id}:1`,
    source: { kind: 'oci', resource: `ghcr.io/f/${id}`, tag: '1' },
    dir: '/nowhere',
    metadata: { id, ...(containerEnv ? { containerEnv } : {}) },
    options: {},
  });
  const text = featuresDockerfile([feature('java', { JAVA_HOME: '/opt/java', PATH: '/opt/java/bin:${PATH}' }), feature('node')], {
    containerUser: 'root',
    remoteUser: 'vscode',
  });
  const lines = text.split('\n');
  const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
  assert.ok(at('ENV JAVA_HOME="/opt/java"') < at('COPY --chown=root:root java_0 /tmp/dev-container-features/java_0'));
  assert.ok(at('ENV PATH="/opt/java/bin:${PATH}"') > 0);
  assert.ok(at('COPY --chown=root:root java_0') < at('COPY --chown=root:root node_1 /tmp/dev-container-features/node_1'));
  assert.ok(text.includes("_REMOTE_USER_HOME=$(grep -E '^vscode:|^[^:]*:[^:]*:vscode:' /etc/passwd"));
  assert.equal(lines.slice(-3), ['ARG _DEV_CONTAINERS_IMAGE_USER=root', 'USER $_DEV_CONTAINERS_IMAGE_USER', '']);
});

test("a Feature's tar: files and folders written, entries that leave the folder or go through a link refused", async () => {
  const made: string[] = [];
  const dir = () => {
    made.push(mkdtempSync(join(tmpdir(), 'devbox-feature-')));
    return made[made.length - 1];
  };
  try {
    const good = dir();
    await extractFeatureTar(
      await packTar([
        { name: './', type: 'directory' },
        { name: './install.sh', content: '#!/bin/sh\n', mode: 0o755 },
        { name: './lib/helper.sh', content: 'x' },
      ]),
      good,
      'f',
    );
    assert.is(readFileSync(join(good, 'lib/helper.sh'), 'utf8'), 'x');
    const hostile: [string, Parameters<typeof packTar>[0]][] = [
      ['escapes the layer directory', [{ name: '../outside', content: 'x' }]],
      [
        'goes through a symbolic link',
        [
          { name: 'etc', type: 'symlink', linkname: '/etc' },
          { name: 'etc/passwd', content: 'x' },
        ],
      ],
    ];
    for (const [why, entries] of hostile) {
      const error = await extractFeatureTar(await packTar(entries), dir(), 'f').catch((e: Error) => e);
      assert.instance(error, Error);
      assert.match((error as Error).message, why);
    }
    assert.not.ok(existsSync(join(tmpdir(), 'outside')));
  } finally {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  }
});

test.run();
