import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import type { StoredImage } from '../../src/image/store.js';
import { parseRunArgs } from '../../src/project/devcontainer/run-args.js';
import { mergeMetadata, parseMetadataLabel, type MetadataEntry } from '../../src/project/devcontainer/metadata.js';
import { entryEnvironment } from '../../src/project/entry-process.js';
import { loadProject } from '../../src/project/load.js';
import { devboxSchema } from '../../src/project/package-files.js';
import { resolveStartSettings } from '../../src/project/start-settings.js';
import { projectDir } from '../helpers/project.js';

const HOME = '/home/alice';
const defs = devboxSchema().$defs ?? {};

/** An image as the store describes it, with only what start settings read. */
function image(config: { User?: string; Labels?: Record<string, string>; Entrypoint?: string[]; Cmd?: string[] }): StoredImage {
  return {
    id: 'sha256:x',
    names: [],
    manifestDigest: 'sha256:y',
    manifest: { schemaVersion: 2, config: {}, layers: [] },
    config: { config },
  } as unknown as StoredImage;
}

function project(json: Record<string, unknown>) {
  const root = projectDir({ '.devcontainer/devcontainer.json': JSON.stringify({ image: 'img', ...json }) });
  return loadProject(root, { env: { HOME }, home: HOME });
}

test('the devcontainer.metadata label: an array or a single entry; a property of the wrong type is left out, with a word', () => {
  assert.equal(parseMetadataLabel('{"remoteUser":"vscode"}', 'image x', defs), { entries: [{ remoteUser: 'vscode' }], problems: [] });
  const { entries, problems } = parseMetadataLabel(
    JSON.stringify([
      { id: 'ghcr.io/a/b/c:1', capAdd: ['SYS_PTRACE'], remoteUser: 7, newerProperty: true },
      'not an entry',
      { postStartCommand: ['echo', 'hi'] },
    ]),
    'image x',
    defs,
  );
  assert.equal(entries, [{ id: 'ghcr.io/a/b/c:1', capAdd: ['SYS_PTRACE'] }, { postStartCommand: ['echo', 'hi'] }]);
  assert.equal(problems, [
    'the devcontainer.metadata label of image x: "remoteUser" must be a non-empty string, not 7: devbox ignores it',
    'entry 1 of the devcontainer.metadata label of image x is not an object: devbox ignores it',
  ]);
  assert.equal(parseMetadataLabel('[{', 'image x', defs).problems, ['the devcontainer.metadata label of image x is not JSON: devbox ignores it']);
});

test("the spec's merge: last value wins, unions, per-variable env, hooks collected in order, mounts by target, sizes at their largest", () => {
  const entries: MetadataEntry[] = [
    {
      id: 'feature-a',
      capAdd: ['SYS_PTRACE'],
      postCreateCommand: 'a',
      mounts: ['source=a,target=/data,type=volume'],
      containerEnv: { A: '1', B: 'image' },
      hostRequirements: { cpus: 2, memory: '4gb' },
      forwardPorts: [3000],
    },
    { remoteUser: 'vscode', init: true, capAdd: ['SYS_PTRACE', 'NET_ADMIN'], postCreateCommand: { x: 'b' }, portsAttributes: { 3000: { label: 'old' } } },
    {
      remoteUser: 'node',
      containerEnv: { B: 'config' },
      remoteEnv: { C: null },
      mounts: [{ source: 'b', target: '/data', type: 'volume' }],
      postCreateCommand: ['c'],
      portsAttributes: { 3000: { label: 'web' } },
      hostRequirements: { memory: '512mb', storage: '1tb' },
      forwardPorts: ['localhost:3000', 'db:5432'],
    },
  ];
  const merged = mergeMetadata(entries.map((entry, i) => ({ origin: `o${i}`, entry })));
  assert.is(merged.remoteUser, 'node');
  assert.is(merged.init, true);
  assert.equal(merged.capAdd, ['SYS_PTRACE', 'NET_ADMIN']);
  assert.equal(merged.containerEnv, { A: '1', B: 'config' });
  assert.equal(merged.remoteEnv, { C: null });
  assert.equal(merged.hooks.postCreateCommand, [
    { origin: 'o0', command: 'a' },
    { origin: 'o1', command: { x: 'b' } },
    { origin: 'o2', command: ['c'] },
  ]);
  assert.equal(merged.mounts, [{ origin: 'o2', mount: { source: 'b', target: '/data', type: 'volume' } }]);
  assert.equal(merged.portsAttributes, { 3000: { label: 'web' } });
  assert.equal(merged.forwardPorts, [3000, 'db:5432']);
  assert.equal(merged.hostRequirements, { cpus: 2, memory: 4 * 2 ** 30, storage: 2 ** 40 });
});

test('start settings: the remote user from the label takes your ids; root, by default or by name, is you', () => {
  const labelled = image({ User: 'root', Labels: { 'devcontainer.metadata': '[{"remoteUser":"vscode","postStartCommand":"echo image"}]' } });
  const settings = resolveStartSettings(project({ postStartCommand: 'echo config' }), labelled, 'img');
  assert.equal(settings.account, { name: 'vscode', updateUid: true, where: '"remoteUser" in the devcontainer.metadata of image img' });
  assert.equal(
    settings.hooks.map((h) => [h.hook, h.origin]),
    [
      ['postStartCommand', 'image img'],
      ['postStartCommand', 'devcontainer.json'],
    ],
  );
  const config = project({ remoteUser: 'dev', updateRemoteUserUID: false });
  assert.equal(resolveStartSettings(config, labelled, 'img').account, {
    name: 'dev',
    updateUid: false,
    where: `"remoteUser" in ${config.source.path}`,
  });
  assert.is(resolveStartSettings(project({ remoteUser: 'root' }), labelled, 'img').account, undefined);
  assert.is(resolveStartSettings(project({}), image({}), 'img').account, undefined);
  // Without remoteUser: containerUser, then the image's USER.
  assert.equal(resolveStartSettings(project({}), image({ User: 'app:app' }), 'img').account?.name, 'app');
  assert.is(resolveStartSettings(project({ containerUser: 'svc' }), image({ User: 'app' }), 'img').containerUser, 'svc');
});

test('start settings: what cannot be honoured is named once; SYS_PTRACE and seccomp=unconfined need nothing', () => {
  const labelled = image({
    Labels: {
      'devcontainer.metadata': JSON.stringify([
        { id: 'ghcr.io/devcontainers/features/docker-in-docker:2', privileged: true, entrypoint: '/usr/local/share/docker-init.sh' },
        { capAdd: ['SYS_PTRACE'], securityOpt: ['seccomp=unconfined'] },
      ]),
    },
  });
  const settings = resolveStartSettings(project({ capAdd: ['NET_ADMIN'], securityOpt: ['apparmor=custom'] }), labelled, 'img');
  assert.equal(settings.warnings, [
    'feature ghcr.io/devcontainers/features/docker-in-docker:2 asks for a privileged container; devbox sandboxes are rootless and never privileged, so it runs without',
    'devbox does not add capabilities: capAdd NET_ADMIN is not applied',
    'devbox does not apply securityOpt apparmor=custom',
  ]);
  assert.equal(settings.containerCommand, ['/bin/sh', '-c', '/usr/local/share/docker-init.sh\nexec "$@"', '-']);
  // overrideCommand false: the image's own command runs after the entrypoints.
  const own = resolveStartSettings(project({ overrideCommand: false }), image({ Entrypoint: ['/init'], Cmd: ['serve'] }), 'img');
  assert.equal(own.containerCommand, ['/bin/sh', '-c', 'exec "$@"', '-', '/init', 'serve']);
  assert.is(resolveStartSettings(project({}), image({ Cmd: ['serve'] }), 'img').containerCommand, undefined);
});

test('start settings: forwardPorts of the label, portsAttributes as labels and ports left alone', () => {
  const labelled = image({ Labels: { 'devcontainer.metadata': '{"forwardPorts":[8080, "db:5432"]}' } });
  const settings = resolveStartSettings(
    project({
      forwardPorts: [3000],
      portsAttributes: { 3000: { label: 'web' }, '9000-9009': { onAutoForward: 'ignore' }, '.+\\/server.js': { label: 'x' } },
      otherPortsAttributes: { onAutoForward: 'silent' },
    }),
    labelled,
    'img',
  );
  assert.equal(
    settings.ports.map((p) => p.containerPort),
    [3000, 8080],
  );
  assert.equal(settings.portAttributes, {
    rules: [
      { from: 3000, to: 3000, label: 'web' },
      { from: 9000, to: 9009, ignore: true },
    ],
    others: {},
  });
  assert.equal(settings.warnings, [
    'forwardPorts "db:5432" is a port of another container (Docker Compose), which devbox does not forward: reach it by that name from the sandbox',
    'portsAttributes ".+\\/server.js": devbox matches port numbers and ranges (3000, 3000-3010), not patterns; left out',
  ]);
});

test('the environment of entries: containerEnv over the image, then what the shell start-up files set, then remoteEnv', () => {
  const imageEnv = { PATH: '/usr/bin', LANG: 'C.UTF-8', HOME: '/root' };
  const env = entryEnvironment(
    imageEnv,
    { containerEnv: { JAVA_HOME: '/opt/jdk', PATH: '${containerEnv:PATH}:/opt/jdk/bin' }, remoteEnv: { PATH: '${containerEnv:PATH}:/x', LANG: null } },
    {
      NVM_DIR: '/usr/local/share/nvm',
      PATH: '/nvm/bin:/usr/bin:/opt/jdk/bin',
    },
  );
  assert.equal(env, { JAVA_HOME: '/opt/jdk', PATH: '/nvm/bin:/usr/bin:/opt/jdk/bin:/x', NVM_DIR: '/usr/local/share/nvm', LANG: null });
});

test('runArgs: the options devbox run has become the config; the others are named, not applied', () => {
  const root = projectDir({ 'dev.env': '# comment\nFROM_FILE=1\nHOST_ONLY\n' });
  const run = parseRunArgs(
    [
      '--cap-add=SYS_PTRACE',
      '--security-opt',
      'seccomp=unconfined',
      '-e',
      'A=1',
      '--env-file',
      'dev.env',
      '-v',
      'cache:/cache',
      '--mount=type=tmpfs,target=/scratch',
      '-p',
      '8080:80',
      '--network=host',
      '--hostname',
      'dev',
      '-u',
      'app',
      '--init',
      '--rm',
      '-it',
      '--device',
      '/dev/kvm',
      '--gpus=all',
      '--add-host',
      'db:10.0.0.2',
    ],
    { base: root, home: HOME },
    { HOST_ONLY: 'from-host' },
  );
  assert.equal(run.containerEnv, { A: '1', FROM_FILE: '1', HOST_ONLY: 'from-host' });
  assert.equal(run.mounts, [
    { type: 'volume', source: 'cache', target: '/cache', readonly: false },
    { type: 'tmpfs', target: '/scratch', readonly: false, options: ['nosuid', 'nodev', 'mode=1777'] },
  ]);
  assert.equal(run.ports, [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
  assert.equal([run.network, run.hostname, run.containerUser, run.init], ['host', 'dev', 'app', true]);
  assert.equal([run.capAdd, run.securityOpt], [['SYS_PTRACE'], ['seccomp=unconfined']]);
  assert.equal(run.unsupported, ['--device', '--gpus', '--add-host']);
  assert.equal(run.errors, []);
  assert.equal(parseRunArgs(['--network', 'mynet', 'ubuntu'], { base: root, home: HOME }, {}).errors, [
    '--network mynet: devbox sandboxes have the slirp4netns (bridge), host or none network',
    '"ubuntu" is not an option (runArgs holds docker run options only; the image is devcontainer.json\'s)',
  ]);
});

test("runArgs' mounts go through devbox run's parser: --tmpfs keeps its options, a relative bind is the project's, an anonymous volume is refused", () => {
  const root = projectDir();
  const run = parseRunArgs(['--tmpfs', '/run/app:size=64m,exec', '-v', './data:/data:ro', '--mount', 'type=volume,dst=/anon'], { base: root, home: HOME }, {});
  assert.equal(run.mounts, [
    { type: 'tmpfs', target: '/run/app', readonly: false, options: ['exec', 'nosuid', 'nodev', 'mode=1777', 'size=64m'] },
    { type: 'bind', source: `${root}/data`, target: '/data', readonly: true },
  ]);
  assert.equal(run.errors, ['--mount: needs a source: name the volume (NAME:PATH), or give a host path']);
});

test("start settings: a metadata mount devbox cannot make is left out with a word; the config's own wins on its target", () => {
  const labelled = image({
    Labels: { 'devcontainer.metadata': JSON.stringify([{ mounts: ['type=volume,target=/anon', 'source=img-cache,target=/cache,type=volume'] }]) },
  });
  const settings = resolveStartSettings(project({ mounts: ['type=bind,source=/,target=/cache'] }), labelled, 'img');
  assert.equal(settings.mounts, [{ type: 'bind', source: '/', target: '/cache', readonly: false }]);
  assert.match(settings.warnings.join('\n'), /a mount of image img is not one devbox can make \(needs a source/);
});

test.run();
