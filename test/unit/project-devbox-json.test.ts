import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { loadProject } from '../../src/project/load.js';
import { DOCKERFILE, errorLine, projectDir, writeFiles } from '../helpers/project.js';

const HOME = '/home/alice';

/** The one-line message a command would print for loading the project in `root`. */
const loadError = (root: string) => errorLine(() => loadProject(root, { env: {}, home: HOME }));

test('found from a subfolder: defaults fill in, paths are absolute', () => {
  const root = projectDir({ 'devbox.json': '{}', '.devbox/Dockerfile': DOCKERFILE, 'src/app/main.js': '' });
  const config = loadProject(join(root, 'src/app'), { env: {}, home: HOME });
  assert.equal(config, {
    source: { format: 'devbox.json', path: join(root, 'devbox.json') },
    root,
    name: root.split('/').at(-1)!,
    environment: { kind: 'dockerfile', dockerfile: join(root, '.devbox/Dockerfile'), context: join(root, '.devbox'), buildArgs: {} },
    mounts: [],
    network: 'slirp4netns',
    ports: [],
    metadata: { remoteEnv: {} },
    imageMetadata: false,
    features: [],
    featureInstallOrder: [],
    home: 'private',
    prompt: `(devbox:${root.split('/').at(-1)}) `,
    workspaceFolder: root,
    warnings: [],
  });
});

test('every key, with comments and trailing commas, normalized', () => {
  const root = projectDir({
    'devbox.json': `{
      // the environment
      "name": "shop",
      "build": { "dockerfile": "env/Dockerfile", "context": ".", "args": { "USER_HOME": "\${localEnv:HOME}" }, "target": "dev" },
      "env": { "RUST_BACKTRACE": "1", "PATH": "\${containerEnv:PATH}:\${localWorkspaceFolder}/bin", "GONOSUMDB": null },
      "mounts": [
        "devbox-npm-cache:~/.npm",
        "type=bind,source=./data,target=/data,readonly",
        "/etc/ssl:/etc/host-ssl:ro",
        { "type": "tmpfs", "target": "/scratch" },
      ],
      "network": "host",
      "ports": [3000, "127.0.0.1:8080:80", "5353:53/udp"],
      "shell": ["bash", "-l"],
      "postCreateCommand": { "deps": "npm ci", "hooks": ["git", "config", "core.hooksPath", ".githooks"] },
      "home": "host",
      "prompt": "(shop) ",
    }`,
    'env/Dockerfile': DOCKERFILE,
  });
  const config = loadProject(root, { env: { HOME }, home: HOME });
  assert.equal(config.environment, {
    kind: 'dockerfile',
    dockerfile: join(root, 'env/Dockerfile'),
    context: root,
    buildArgs: { USER_HOME: HOME },
    target: 'dev',
  });
  assert.equal(config.metadata.remoteEnv, { RUST_BACKTRACE: '1', PATH: `\${containerEnv:PATH}:${root}/bin`, GONOSUMDB: null });
  assert.equal(config.mounts, [
    { type: 'volume', source: 'devbox-npm-cache', target: `${HOME}/.npm`, readonly: false },
    { type: 'bind', source: join(root, 'data'), target: '/data', readonly: true },
    { type: 'bind', source: '/etc/ssl', target: '/etc/host-ssl', readonly: true },
    { type: 'tmpfs', target: '/scratch', readonly: false, options: ['nosuid', 'nodev', 'mode=1777'] },
  ]);
  assert.is(config.network, 'host');
  assert.equal(config.ports, [
    { hostPort: 3000, containerPort: 3000, protocol: 'tcp' },
    { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
    { hostPort: 5353, containerPort: 53, protocol: 'udp' },
  ]);
  assert.equal(config.shell, ['bash', '-l']);
  assert.equal(config.metadata.postCreateCommand, { deps: 'npm ci', hooks: ['git', 'config', 'core.hooksPath', '.githooks'] });
  assert.is(config.imageMetadata, false);
  assert.is(config.home, 'host');
  assert.is(config.prompt, '(shop) ');
  assert.is(config.name, 'shop');
});

test('an image instead of a Dockerfile needs no .devbox/Dockerfile', () => {
  const root = projectDir({ 'devbox.json': '{"image": "debian:bookworm", "shell": "zsh", "prompt": ""}' });
  const config = loadProject(root, { env: {}, home: HOME });
  assert.equal(config.environment, { kind: 'image', image: 'debian:bookworm' });
  assert.equal(config.shell, ['zsh']);
  assert.is(config.prompt, '');
});

// Exact messages: file:line:col, the key, what is expected, and the fix in parentheses.
const cases: [string, string, string][] = [
  ['unknown key with a near miss', '{\n  "dockerfile": "x"\n}', '2:3: "dockerfile" is not a known key (did you mean "build.dockerfile"?)'],
  ['misspelled key', '{\n  "netwrok": "host"\n}', '2:3: "netwrok" is not a known key (did you mean "network"?)'],
  ['enum', '{\n  "image": "x",\n  "home": "shared"\n}', '3:11: "home" must be one of "private", "host", not "shared" (e.g. "home": "host")'],
  [
    'a network that is neither a mode nor a name',
    '{\n  "image": "x",\n  "network": "bad name"\n}',
    '3:14: "network" must be one of "slirp4netns", "host", "none", not "bad name" (e.g. "network": "host")',
  ],
  ['nested type', '{"image": "x", "build": {"args": {"A": 1}}}', '1:40: "build.args.A" must be a string, not 1'],
  ['unknown nested key', '{"build": {"dockerFile": "x"}}', '1:12: "build.dockerFile" is not a known key (did you mean "dockerfile"?)'],
  [
    'array item shape',
    '{"image": "x",\n "ports": [3000, "http"]}',
    '2:18: "ports[1]" must be a port like "3000", "8080:80", "127.0.0.1:8080:80" or "5353:53/udp", not "http" (e.g. "8080:80")',
  ],
  ['port out of range', '{"image": "x", "ports": ["70000:80"]}', '1:26: "ports[0]" a port is from 1 to 65535'],
  [
    'shell with arguments in a string',
    '{"image": "x", "shell": "bash -l"}',
    '1:25: "shell" must be a program name or path (give arguments as an array, e.g. ["bash", "-l"]), not "bash -l" (e.g. "shell": "zsh")',
  ],
  ['mount without target', '{"image": "x", "mounts": [{"source": "cache"}]}', '1:27: "mounts[0]" needs "target" (e.g. "target": "~/.npm")'],
  ['mount string', '{"image": "x", "mounts": ["cache"]}', '1:27: "mounts[0]" target "cache" must be an absolute path (or start with ~/)'],
  ['anonymous volume', '{"image": "x", "mounts": ["/cache"]}', '1:27: "mounts[0]" needs a source: name the volume (NAME:PATH), or give a host path'],
  [
    'mount relative target',
    '{"image": "x", "mounts": ["type=volume,source=c,target=data"]}',
    '1:27: "mounts[0]" target "data" must be an absolute path (or start with ~/)',
  ],
  ['env name', '{"image": "x", "env": {"A=B": "1"}}', '1:31: "env.A=B" is not a valid variable name (it may not be empty or contain "=")'],
  [
    'image and build',
    '{"image": "x", "build": {}}',
    '1:25: "build" cannot be used together with "image" (keep "image" to use an image as it is, or "build" to build a Dockerfile)',
  ],
  [
    'missing Dockerfile named',
    '{"build": {"dockerfile": "nope/Dockerfile"}}',
    '1:26: "build.dockerfile" names ROOT/nope/Dockerfile, which does not exist (fix the path (relative to devbox.json))',
  ],
  ['top level not an object', '[]', '1:1: must be an object, not an array'],
  [
    'nested too deep to read',
    `{"image": "x", "a": ${'['.repeat(64)}${']'.repeat(64)}}`,
    '1:84: nested more than 64 levels deep (no devbox setting nests that deep)',
  ],
  [
    'postCreateCommand empty array',
    '{"image": "x", "postCreateCommand": []}',
    '1:37: "postCreateCommand" must have at least 1 item (e.g. "postCreateCommand": "npm ci")',
  ],
];
for (const [name, text, expected] of cases) {
  test(`refused: ${name}`, async () => {
    const root = projectDir({ 'devbox.json': text });
    assert.is(await loadError(root), `${join(root, 'devbox.json')}:${expected.replace('ROOT', root)}`);
  });
}

test('"services": each a ServiceSpec of one group; the sandbox joins their network', () => {
  const root = projectDir({
    'devbox.json': JSON.stringify({
      name: 'Shop',
      image: 'debian:bookworm',
      services: {
        db: {
          image: 'postgres:16',
          env: { POSTGRES_PASSWORD: 'dev' },
          volumes: ['pgdata:/var/lib/postgresql/data', './seed:/seed:ro'],
          healthcheck: 'pg_isready',
        },
        worker: { build: { dockerfile: 'worker/Dockerfile', args: { V: '1' } }, command: "bin/worker --queue 'a b'", dependsOn: ['db'] },
      },
    }),
    'worker/Dockerfile': DOCKERFILE,
  });
  const config = loadProject(root, { env: {}, home: HOME });
  assert.is(config.network, 'none');
  assert.is(config.networkName, 'shop_default');
  assert.equal(config.services, {
    group: {
      name: 'shop',
      project: root,
      file: join(root, 'devbox.json'),
      services: [
        {
          name: 'db',
          image: 'postgres:16',
          env: { POSTGRES_PASSWORD: 'dev' },
          ports: [],
          volumes: [
            { type: 'volume', source: 'shop_pgdata', target: '/var/lib/postgresql/data', readonly: false },
            { type: 'bind', source: join(root, 'seed'), target: '/seed', readonly: true },
          ],
          health: { none: false, cmd: 'pg_isready', interval: '2s', startInterval: '1s' },
          dependsOn: [],
          network: { kind: 'networks', networks: [{ key: 'default', aliases: [] }] },
        },
        {
          name: 'worker',
          image: 'localhost/shop-worker:latest',
          build: { dockerfile: join(root, 'worker/Dockerfile'), context: join(root, 'worker'), args: { V: '1' } },
          env: {},
          ports: [],
          volumes: [],
          command: ['bin/worker', '--queue', 'a b'],
          dependsOn: [{ name: 'db', healthy: false }],
          network: { kind: 'networks', networks: [{ key: 'default', aliases: [] }] },
        },
      ],
      networks: { default: { name: 'shop_default', internal: false } },
    },
    up: ['db', 'worker'],
    files: [],
  });
});

test('"services" refused: no image or build, "network" beside them, an anonymous volume, an unknown key', async () => {
  const cases: [unknown, string][] = [
    [{ db: {} }, '"services.db" needs "image" or "build"'],
    [{ db: { image: 'x', privileged: true } }, '"services.db.privileged"'],
    [{ db: { image: 'x', volumes: ['/data'] } }, '"services.db.volumes[0]" needs a source'],
  ];
  for (const [services, expected] of cases) {
    const root = projectDir({ 'devbox.json': JSON.stringify({ image: 'x', services }) });
    assert.match(await loadError(root), expected);
  }
  const root = projectDir({ 'devbox.json': JSON.stringify({ image: 'x', network: 'host', services: { db: { image: 'x' } } }) });
  assert.match(await loadError(root), '"network" cannot be set with "services"');
});

test('invalid JSON is reported at its line and column', async () => {
  const root = projectDir({ 'devbox.json': '{\n  "image": "x"\n  "network": "host"\n}' });
  assert.is(await loadError(root), `${join(root, 'devbox.json')}:3:3: invalid JSON: expected "," (fix the syntax at that position)`);
});

test('empty file and missing default Dockerfile say what to do', async () => {
  const empty = projectDir({ 'devbox.json': '  \n' });
  assert.is(await loadError(empty), `${join(empty, 'devbox.json')}: the file is empty (write a JSON object, e.g. {})`);
  const bare = projectDir({ 'devbox.json': '{}' });
  assert.match(
    await loadError(bare),
    `${join(bare, 'devbox.json')}: no Dockerfile at .devbox/Dockerfile, where devbox looks when "build.dockerfile" is not set (`,
  );
});

test('no config anywhere above: says how to devbox init', async () => {
  const root = projectDir({ 'src/.keep': '' });
  const message = await loadError(join(root, 'src'));
  assert.is(
    message,
    `no devbox.json or .devcontainer/devcontainer.json in ${join(root, 'src')} or any folder above it (run devbox init in the project's root folder (devbox init --list shows the templates))`,
  );
});

test('the nearest project wins, and devbox.json wins over devcontainer.json in the same folder', () => {
  const outer = projectDir({ 'devbox.json': '{"image": "outer"}' });
  writeFiles(outer, {
    'inner/devbox.json': '{"image": "inner"}',
    'inner/.devcontainer/devcontainer.json': '{"image": "devcontainer"}',
    'inner/deep/x': '',
  });
  assert.equal(loadProject(join(outer, 'inner/deep'), { env: {}, home: HOME }).environment, { kind: 'image', image: 'inner' });
  assert.equal(loadProject(outer, { env: {}, home: HOME }).environment, { kind: 'image', image: 'outer' });
});

test.run();
