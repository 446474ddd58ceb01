/**
 * Project sandboxes end to end, as the user running the suite: `devbox run`/`devbox shell` in a project start
 * its live sandbox once and join it; a real terminal (tmux) drives the shell.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { DEVBOX_BIN, devbox, devboxOk } from '../helpers/cli.js';
import { busyboxRootfs, importBusybox, testDir, writeTar } from '../helpers/images.js';
import { openTerminal } from '../helpers/terminal.js';

const IMAGE = 'busybox:latest';
const projects: string[] = [];
const sandboxesDir = () => join(process.env.XDG_DATA_HOME!, 'devbox', 'sandboxes');
const uid = process.getuid!();

/** A project folder with a devbox.json (or the given config files) and a subfolder "src". */
async function project(files: Record<string, string> = { 'devbox.json': JSON.stringify({ image: IMAGE }) }): Promise<string> {
  const root = await testDir('project');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), content);
  }
  mkdirSync(join(root, 'src'));
  projects.push(root);
  return root;
}

function sandboxState(root: string): { outerPid: number; project: string } {
  for (const dir of readdirSync(sandboxesDir())) {
    const path = join(sandboxesDir(), dir, 'state.json');
    if (!existsSync(path)) continue; // a sandbox that failed to start (another suite's test)
    const state = JSON.parse(readFileSync(path, 'utf8'));
    if (state.project === root) return state;
  }
  throw new Error(`no sandbox for ${root}`);
}

/**
 * Supervising helpers of this suite's live sandboxes (started with --keep-alive), one per sandbox: the
 * sandbox's pid 1 has the same command line but lives in the sandbox's pid namespace.
 */
function keepAliveHelpers(): string[] {
  let pids: string[];
  try {
    const pattern = `devbox-helper .*${sandboxesDir()}/.*--keep-alive`;
    pids = execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n');
  } catch {
    return [];
  }
  const ours = readlinkSync('/proc/self/ns/pid');
  return pids.filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/ns/pid`) === ours;
    } catch {
      return false; // exited meanwhile
    }
  });
}

test.before(async () => {
  await importBusybox(IMAGE);
});

test.after(async () => {
  for (const root of projects) await devbox(['stop'], { cwd: root });
});

test('devbox run in a subfolder: the user, the folder, files owned by the user, status and stdin passed through', async () => {
  const root = await project();
  const cwd = join(root, 'src');
  const r = await devboxOk(['run', 'sh', '-c', 'id -u; id -g; pwd; touch made-inside; echo "$HOME"'], { cwd });
  const [u, g, pwd, home] = r.stdout.trim().split('\n');
  assert.is(Number(u), uid);
  assert.is(Number(g), process.getgid!());
  assert.is(pwd, cwd);
  assert.is(home, userInfo().homedir, "the home directory is at the host home's path");
  assert.is(statSync(join(cwd, 'made-inside')).uid, uid);
  const failed = await devbox(['run', 'sh', '-c', 'echo oops >&2; exit 3'], { cwd });
  assert.is(failed.exitCode, 3);
  assert.is(failed.stderr, 'oops\n');
  const echoed = await devboxOk(['run', 'cat'], { cwd, input: 'through stdin\n' });
  assert.is(echoed.stdout, 'through stdin\n');
});

test("in a project folder, container run in each spelling is docker run, not the project's run", async () => {
  const root = await project();
  for (const spelling of [['container', 'run'], ['container:run']]) {
    const r = await devboxOk([...spelling, '--rm', '--pull', 'never', IMAGE, 'cat', '/etc/hostname'], { cwd: root });
    assert.match(r.stdout, /^[0-9a-f]{12}\n$/, `${spelling.join(' ')}: a container of its own, named by its id`);
  }
  // A docker run option given to the project's run says which run is which; another unknown option is plain.
  const rm = await devbox(['run', '--rm', IMAGE, 'true'], { cwd: root });
  assert.equal(
    [rm.exitCode, rm.stderr],
    [
      125,
      'devbox: devbox run: "--rm" is an option of devbox container run; in a project, devbox run runs a command in its sandbox (to run an image, use devbox container run --rm IMAGE …)\n',
    ],
  );
  const bogus = await devbox(['run', '--bogus', 'true'], { cwd: root });
  assert.equal([bogus.exitCode, bogus.stderr], [125, 'devbox: devbox run: unknown option "--bogus" (see devbox run --help)\n']);
});

test("a new private home starts from the image's /etc/skel, as useradd makes a home", async () => {
  const dir = await testDir('skel');
  const tar = join(dir, 'rootfs.tar');
  await writeTar(tar, [
    ...busyboxRootfs(),
    { name: 'etc/skel', type: 'directory' },
    { name: 'etc/skel/.profile', content: "alias ll='ls -l'\n" },
    { name: 'etc/skel/.config', type: 'directory' },
    { name: 'etc/skel/.config/app.conf', content: 'colour=yes\n' },
  ]);
  await devboxOk(['image', 'import', tar, 'skelbox:1']);
  const root = await project({ 'devbox.json': JSON.stringify({ image: 'skelbox:1' }) });
  const r = await devboxOk(['run', 'sh', '-c', 'cat ~/.profile ~/.config/app.conf; stat -c %u ~/.profile'], { cwd: root });
  assert.is(r.stdout, `alias ll='ls -l'\ncolour=yes\n${uid}\n`);
});

test('every entry joins the one live sandbox: a process started by one is seen by the next', async () => {
  const root = await project();
  const first = await devboxOk(['run', 'sh', '-c', 'sleep 300 >/dev/null 2>&1 & echo started'], { cwd: root });
  assert.is(first.stdout, 'started\n');
  const ps = await devboxOk(['run', 'ps'], { cwd: join(root, 'src') });
  assert.match(ps.stdout, /sleep 300/);
});

for (const kind of ['an image', 'a Dockerfile'] as const) {
  test(`entries at the same moment start exactly one sandbox (${kind}; devbox.lock written by one of them)`, async () => {
    const root = await project(
      kind === 'an image'
        ? undefined
        : { 'devbox.json': JSON.stringify({ build: { dockerfile: 'Dockerfile' } }), Dockerfile: `FROM ${IMAGE}\nRUN date +%N > /built\n` },
    );
    const before = keepAliveHelpers().length;
    // Each prints the start time of its pid 1: the same sandbox gives the same one.
    const runs = await Promise.all([1, 2, 3].map(() => devboxOk(['run', 'sh', '-c', 'cut -d" " -f22 /proc/1/stat'], { cwd: root })));
    assert.is(new Set(runs.map((r) => r.stdout)).size, 1, JSON.stringify(runs.map((r) => r.stdout)));
    assert.is(keepAliveHelpers().length, before + 1);
  });
}

test('a shell in a terminal: the prompt, the folder, the user, the terminal, and the exit status back', async () => {
  const root = await project();
  const cwd = join(root, 'src');
  const term = openTerminal(`${process.execPath} ${DEVBOX_BIN} shell; echo "shell exited $?"`, { cwd });
  try {
    await term.waitFor(/\(devbox:project-\d+-\w+\) /);
    term.send('echo "in=$(pwd) uid=$(id -u) size=$(stty size)"\r');
    const screen = await term.waitFor(/in=\S+ uid=\d+ size=\d+ \d+/);
    assert.match(screen, `in=${cwd} uid=${uid} size=40 120`);
    term.send('exit 4\r');
    await term.waitFor(/shell exited 4/);
  } finally {
    term.close();
  }
});

test('stop ends every process of the sandbox; the writable layer stays until rm', async () => {
  const root = await project();
  await devboxOk(['run', '-u', 'root', 'sh', '-c', 'echo kept > /etc/kept; sleep 300 >/dev/null 2>&1 &'], { cwd: root });
  const live = keepAliveHelpers().length;
  await devboxOk(['stop'], { cwd: root });
  assert.is(keepAliveHelpers().length, live - 1);
  const ps = await devboxOk(['ps', '-a']);
  assert.match(ps.stdout, /Stopped +project-/);
  assert.is((await devboxOk(['run', 'cat', '/etc/kept'], { cwd: root })).stdout, 'kept\n');
  const rm = await devbox(['rm'], { cwd: root });
  assert.is(rm.exitCode, 1);
  assert.match(rm.stderr, /is running.*devbox stop/);
  await devboxOk(['rm', '--force'], { cwd: root });
  const after = await devbox(['run', 'cat', '/etc/kept'], { cwd: root });
  assert.is(after.exitCode, 1);
});

test("stop and rm of a container named like the start of a sandbox's id act on the container, never on the sandbox", async () => {
  const root = await project();
  await devboxOk(['run', 'true'], { cwd: root });
  const sandboxId = readdirSync(sandboxesDir()).find((id) => {
    const path = join(sandboxesDir(), id, 'state.json');
    return existsSync(path) && JSON.parse(readFileSync(path, 'utf8')).project === root;
  })!;
  // A name that is also a prefix of the sandbox's id (hex digits: a valid container name).
  const name = sandboxId.slice(0, 6);
  const id = (await devboxOk(['run', '-d', '--name', name, IMAGE, 'sleep', '300'])).stdout.trim();
  try {
    assert.is((await devboxOk(['stop', '-t', '0', name])).stdout, `${name}\n`);
    assert.is((await devboxOk(['inspect', '-f', '{{.State.Status}}', name])).stdout, 'exited\n');
    assert.is((await devboxOk(['rm', '-f', name])).stdout, `${name}\n`);
    assert.match((await devbox(['inspect', name])).stderr, /no such object/);
  } finally {
    // By its whole id: once the container is gone, the name would name the sandbox (an id prefix).
    await devbox(['rm', '-f', id]);
  }
  // Nor by a short name that is no container's and starts its id ("db" once the container db is gone).
  const short = await devbox(['rm', '-f', sandboxId.slice(0, 2)]);
  assert.match(short.stderr, /no such container/i);
  // The sandbox was not touched: its helper still runs; six characters of its id name it.
  const { outerPid } = sandboxState(root);
  assert.not.throws(() => process.kill(outerPid, 0));
  await devboxOk(['stop', sandboxId.slice(0, 6)]);
  // Gone, or a zombie not yet reaped by whoever became its parent.
  const ended = !existsSync(`/proc/${outerPid}/stat`) || readFileSync(`/proc/${outerPid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  assert.ok(ended, 'stopped by the start of its id');
});

test('a sandbox whose processes were killed is started again', async () => {
  const root = await project();
  await devboxOk(['run', 'true'], { cwd: root });
  process.kill(sandboxState(root).outerPid, 'SIGKILL');
  const r = await devboxOk(['run', 'echo', 'again'], { cwd: root });
  assert.is(r.stdout, 'again\n');
});

test('a devcontainer.json project: containerEnv, and postCreateCommand once per fresh sandbox', async () => {
  const root = await project({
    '.devcontainer/devcontainer.json': `{
      // as VS Code writes them: comments and trailing commas
      "name": "dc-project",
      "image": "${IMAGE}",
      "containerEnv": { "GREETING": "hello from devcontainer" },
      "postCreateCommand": "echo ran >> \${containerWorkspaceFolder}/post-create.log",
    }`,
  });
  const r = await devboxOk(['run', 'sh', '-c', 'echo "$GREETING"'], { cwd: root });
  assert.is(r.stdout, 'hello from devcontainer\n');
  await devboxOk(['stop'], { cwd: root });
  await devboxOk(['run', 'true'], { cwd: root });
  assert.is(readFileSync(join(root, 'post-create.log'), 'utf8'), 'ran\n');
});

test('a Dockerfile project is built on first entry, again only when its context changes', async () => {
  const root = await project({
    'devbox.json': '{}',
    '.devbox/Dockerfile': `FROM ${IMAGE}\nRUN echo built > /built\nCOPY hello.txt /hello.txt\n`,
    '.devbox/hello.txt': 'v1\n',
  });
  const first = await devboxOk(['run', 'cat', '/built', '/hello.txt'], { cwd: root });
  assert.is(first.stdout, 'built\nv1\n');
  assert.match(first.stderr, /STEP 2\/3: RUN echo built/);
  const again = await devboxOk(['run', 'cat', '/hello.txt'], { cwd: root });
  assert.is(again.stderr, '', 'nothing is built or started when nothing changed');
  writeFileSync(join(root, '.devbox/hello.txt'), 'v2\n');
  const changed = await devboxOk(['run', 'cat', '/hello.txt'], { cwd: root });
  assert.is(changed.stdout, 'v2\n');
  assert.match(changed.stderr, /STEP 3\/3: COPY hello.txt/);
});

test('with the repo as the build context, editing a file the Dockerfile does not read neither builds nor restarts the sandbox', async () => {
  const root = await project({
    'devbox.json': JSON.stringify({ build: { dockerfile: '.devbox/Dockerfile', context: '.' } }),
    '.devbox/Dockerfile': `FROM ${IMAGE}\nCOPY hello.txt /hello.txt\n`,
    'hello.txt': 'v1\n',
    'lib/app.txt': 'a\n',
  });
  await devboxOk(['run', 'true'], { cwd: root });
  const { outerPid } = sandboxState(root);
  writeFileSync(join(root, 'lib/app.txt'), 'b\n');
  writeFileSync(join(root, 'notes.txt'), 'a new file\n');
  const again = await devboxOk(['run', 'cat', '/hello.txt'], { cwd: root });
  assert.is(again.stdout, 'v1\n');
  assert.is(again.stderr, '', 'nothing is built or started');
  assert.is(sandboxState(root).outerPid, outerPid, 'the same sandbox');
  writeFileSync(join(root, 'hello.txt'), 'v2\n');
  const changed = await devboxOk(['run', 'cat', '/hello.txt'], { cwd: root });
  assert.is(changed.stdout, 'v2\n');
});

test('the image of a live sandbox is in use: rmi refuses it until the sandbox stops', async () => {
  const dir = await testDir('in-use');
  await writeTar(join(dir, 'rootfs.tar'), [...busyboxRootfs(), { name: 'in-use-marker', content: 'mine\n' }]);
  await devboxOk(['image', 'import', join(dir, 'rootfs.tar'), 'in-use:1']);
  const root = await project({ 'devbox.json': JSON.stringify({ image: 'in-use:1' }) });
  await devboxOk(['run', 'true'], { cwd: root });
  const refused = await devbox(['rmi', 'in-use:1']);
  assert.is(refused.exitCode, 1);
  assert.match(refused.stderr, /is in use by a running container/);
  await devboxOk(['stop'], { cwd: root });
  await devboxOk(['rmi', 'in-use:1']);
});

test('outside any project devbox run is docker run; no config and devbox shell says how to create one', async () => {
  const dir = await testDir('no-project');
  const r = await devbox(['shell'], { cwd: dir });
  assert.is(r.exitCode, 125);
  assert.match(r.stderr, /^devbox: no devbox\.json .* devbox init/);
  assert.is(r.stderr.trim().split('\n').length, 1);
  const image = await devboxOk(['run', '--rm', IMAGE, 'echo', 'image mode'], { cwd: dir });
  assert.is(image.stdout, 'image mode\n');
});

test.run();
