/**
 * Dev Containers projects end to end, as the user running the suite: the image's devcontainer.metadata label
 * merged with devcontainer.json, the remote user in the invoking user's place, every lifecycle hook and its
 * failures, userEnvProbe, the container command, shutdownAction. Real sandboxes on a busybox image shaped like
 * the official ones (test/helpers/devcontainer.ts).
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { eventually, fileContent, loadDevcontainerImage, sandboxFolder } from '../helpers/devcontainer.js';
import { projectDir } from '../helpers/project.js';
import { isLive, readSandboxState } from '../../src/sandbox/live-state.js';

const IMAGE = 'localhost/dc-base:1';
const uid = process.getuid!();
const storeRoot = () => join(process.env.XDG_DATA_HOME!, 'devbox');
const projects: string[] = [];
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function project(config: Record<string, unknown>, files: Record<string, string> = {}): string {
  const root = projectDir({ '.devcontainer/devcontainer.json': JSON.stringify({ image: IMAGE, ...config }, null, 2), ...files });
  projects.push(root);
  return root;
}

test.before(async () => {
  await loadDevcontainerImage(IMAGE, {
    metadata: [
      { id: 'ghcr.io/devcontainers/features/common-utils:2', containerEnv: { FROM_LABEL: 'label' }, postCreateCommand: 'echo label >> /tmp/order' },
      { remoteUser: 'vscode' },
    ],
  });
});

test.after(async () => {
  for (const root of projects) await devbox(['stop'], { cwd: root });
});

test("the label's remoteUser takes your uid, its home is handed to you; the label's commands run first; PATH defaults; null unsets LANG", async () => {
  const root = project({
    containerEnv: { FROM_CONFIG: 'config' },
    remoteEnv: { LANG: null, EXTENDED: '${containerEnv:PATH}:/extra' },
    postCreateCommand: 'echo config >> /tmp/order',
  });
  const script = 'id -un; id -u; echo "$HOME"; echo "$PATH"; echo "${LANG-unset}"; echo "$FROM_LABEL $FROM_CONFIG $FROM_PROFILE"; echo "$EXTENDED";';
  const r = await devboxOk(['run', 'sh', '-c', `${script} stat -c %u ~/.profile; touch ~/mine made-here; cat /tmp/order`], {
    cwd: root,
    env: { LANG: 'C.UTF-8' },
  });
  assert.equal(r.stdout.trim().split('\n'), [
    'vscode',
    String(uid),
    '/home/vscode',
    DEFAULT_PATH,
    'unset',
    'label config yes',
    `${DEFAULT_PATH}:/extra`,
    String(uid),
    'label',
    'config',
  ]);
  assert.is(statSync(join(root, 'made-here')).uid, uid);
  // The home is the image's, in the sandbox's writable layer: kept across a restart.
  await devboxOk(['stop'], { cwd: root });
  assert.is((await devboxOk(['run', 'ls', '/home/vscode/mine'], { cwd: root })).stdout, '/home/vscode/mine\n');
});

test('"devbox ignores …" is said once per change of the config, not at every start', async () => {
  const root = project({ someFutureProperty: true });
  const said = /devbox ignores someFutureProperty/;
  assert.match((await devboxOk(['run', 'true'], { cwd: root })).stderr, said);
  await devboxOk(['stop'], { cwd: root });
  assert.not.match((await devboxOk(['run', 'true'], { cwd: root })).stderr, said);
  const path = join(root, '.devcontainer/devcontainer.json');
  writeFileSync(path, JSON.stringify({ image: IMAGE, someFutureProperty: true, another: 1 }));
  assert.match((await devboxOk(['run', 'true'], { cwd: root })).stderr, /devbox ignores someFutureProperty, another/);
});

test('lifecycle: initializeCommand on the host, create commands once in order and in their three forms, postStart at each start, postAttach at each shell', async () => {
  const root = project({
    initializeCommand: ['sh', '-c', 'echo "${HOST_ONLY:-inside}" >> init.log'],
    onCreateCommand: 'echo onCreate >> order.log',
    updateContentCommand: ['sh', '-c', 'echo updateContent >> order.log'],
    postCreateCommand: { one: 'echo postCreate-one >> one.log', two: ['sh', '-c', 'echo postCreate-two >> two.log'] },
    postStartCommand: 'echo postStart >> order.log',
    postAttachCommand: 'echo attached >> attach.log',
    waitFor: 'postStartCommand',
  });
  await devboxOk(['run', 'true'], { cwd: root, env: { HOST_ONLY: 'host' } });
  assert.is(readFileSync(join(root, 'order.log'), 'utf8'), 'onCreate\nupdateContent\npostStart\n');
  assert.equal([fileContent(join(root, 'one.log')), fileContent(join(root, 'two.log'))], ['postCreate-one\n', 'postCreate-two\n']);
  assert.not.ok(existsSync(join(root, 'attach.log')), 'devbox run is no attach');
  const shell = await devboxOk(['shell'], { cwd: root, input: 'exit\n' });
  assert.match(shell.stderr, /postAttachCommand runs in the background; output: .*lifecycle\.log/);
  assert.is(await eventually(() => fileContent(join(root, 'attach.log')), 'postAttachCommand'), 'attached\n');
  await devboxOk(['stop'], { cwd: root });
  await devboxOk(['run', 'true'], { cwd: root, env: { HOST_ONLY: 'host' } });
  assert.is(readFileSync(join(root, 'order.log'), 'utf8'), 'onCreate\nupdateContent\npostStart\npostStart\n');
  assert.is(readFileSync(join(root, 'init.log'), 'utf8'), 'host\nhost\n');
});

test('a failing hook names itself and its status, the commands after it are skipped, and later entries say the setup is incomplete', async () => {
  const root = project({ postCreateCommand: ['sh', '-c', 'exit 3'], postStartCommand: 'touch started' });
  const first = await devboxOk(['run', 'echo', 'usable'], { cwd: root });
  assert.is(first.stdout, 'usable\n');
  assert.match(first.stderr, /devbox: warning: postCreateCommand from devcontainer\.json exited with status 3; the lifecycle commands after it were skipped/);
  assert.not.ok(existsSync(join(root, 'started')));
  const later = await devboxOk(['run', 'true'], { cwd: root });
  assert.match(later.stderr, /the setup of this sandbox is incomplete: postCreateCommand from devcontainer\.json exited with status 3/);
  // It is still incomplete after a restart: the create commands do not run again in the same sandbox.
  await devboxOk(['stop'], { cwd: root });
  assert.match((await devboxOk(['run', 'true'], { cwd: root })).stderr, /the setup of this sandbox is incomplete/);

  const init = project({ initializeCommand: 'exit 4' });
  const refused = await devbox(['run', 'true'], { cwd: init });
  assert.is(refused.exitCode, 125);
  assert.match(refused.stderr, /devcontainer\.json: initializeCommand from devcontainer\.json exited with status 4; the sandbox was not started/);
});

test('waitFor: the shell starts once the commands up to it have run; the rest run meanwhile, in the background', async () => {
  // postCreateCommand finishes only once the shell has run: were it waited for, it would give up instead.
  const root = project({
    waitFor: 'onCreateCommand',
    onCreateCommand: 'echo created > created.log',
    postCreateCommand:
      'for i in $(seq 200); do [ -e shell-ran ] && break; sleep 0.1; done; [ -e shell-ran ] && echo after-shell > post.log || echo gave-up > post.log',
  });
  const shell = await devboxOk(['shell'], { cwd: root, input: 'cat created.log; touch shell-ran; exit\n' });
  assert.match(shell.stdout, /created/);
  assert.match(shell.stderr, /postCreateCommand runs in the background/);
  assert.is(await eventually(() => fileContent(join(root, 'post.log')), 'postCreateCommand'), 'after-shell\n');
});

test('updateRemoteUserUID false keeps the account its own uid; userEnvProbe none reads no start-up files', async () => {
  const root = project({ remoteUser: 'vscode', updateRemoteUserUID: false, userEnvProbe: 'none' });
  const r = await devboxOk(['run', 'sh', '-c', 'id -u; echo "${FROM_PROFILE-none}"'], { cwd: root });
  assert.equal(r.stdout.trim().split('\n'), ['1000', 'none']);
});

test("overrideCommand false runs the image's command beside the sandbox; a Feature's entrypoint runs at each start", async () => {
  const image = 'localhost/dc-command:1';
  await loadDevcontainerImage(image, {
    metadata: [{ id: 'ghcr.io/example/features/daemon:1', entrypoint: 'echo entrypoint >> /entry.log' }],
    config: { Cmd: ['sh', '-c', 'echo "command as $(id -u)" > /tmp/command.log; exec sleep 1000'] },
  });
  const root = project({ image, overrideCommand: false });
  await devboxOk(['run', 'true'], { cwd: root });
  const read = async (path: string) => {
    const r = await devbox(['run', 'cat', path], { cwd: root });
    return r.exitCode === 0 ? r.stdout : undefined;
  };
  let command: string | undefined;
  for (const deadline = Date.now() + 20_000; !command && Date.now() < deadline; ) command = await read('/tmp/command.log');
  assert.is(command, 'command as 0\n');
  await devboxOk(['stop'], { cwd: root });
  await devboxOk(['run', 'true'], { cwd: root });
  let entries: string | undefined;
  for (const deadline = Date.now() + 20_000; entries !== 'entrypoint\nentrypoint\n' && Date.now() < deadline; ) entries = await read('/entry.log');
  assert.is(entries, 'entrypoint\nentrypoint\n');
});

test('portsAttributes: devbox ports shows a label, onAutoForward ignore keeps a port from being forwarded; hostRequirements warn', async () => {
  const labelled = 20000 + Math.floor(Math.random() * 20000);
  const ignored = labelled + 1;
  const root = project({ portsAttributes: { [labelled]: { label: 'web app' }, [ignored]: { onAutoForward: 'ignore' } }, hostRequirements: { cpus: 4096 } });
  const started = await devboxOk(
    ['run', 'sh', '-c', `mkdir -p /tmp/www && echo hi > /tmp/www/index.html && httpd -p ${labelled} -h /tmp/www && httpd -p ${ignored} -h /tmp/www`],
    {
      cwd: root,
    },
  );
  assert.match(started.stderr, /devbox: warning: the dev container asks for 4096 CPUs, this machine has \d+ \(hostRequirements\)/);
  const id = sandboxFolder(storeRoot(), root).split('/').at(-1)!;
  const ports = await eventually(async () => {
    const out = (await devboxOk(['ports', id])).stdout;
    return out.includes('web app') ? out : undefined;
  }, 'the labelled forward');
  assert.match(ports, /LABEL/);
  // Both servers listened before the watcher's scan that forwarded the first: the second was seen and left alone.
  assert.not.match(ports, new RegExp(`${ignored}/tcp`));
});

test('shutdownAction stopContainer: the sandbox stops when the last session in it ends', async () => {
  const root = project({ shutdownAction: 'stopContainer' });
  await devboxOk(['run', 'true'], { cwd: root });
  const state = readSandboxState(sandboxFolder(storeRoot(), root));
  assert.ok(state);
  assert.not.ok(isLive(state!), 'stopped after the last session');
  // Without it, the sandbox stays up for the next entry.
  const kept = project({});
  await devboxOk(['run', 'true'], { cwd: kept });
  assert.ok(isLive(readSandboxState(sandboxFolder(storeRoot(), kept))!));
});

test.run();
