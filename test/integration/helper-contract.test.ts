/**
 * The native helper's contract, tested on the program itself as bubblewrap's tests/test-run.sh tests bwrap:
 * every refusal (one line, status 125, before anything exists), the exit statuses, mount destinations that
 * are symlinks in the image, --keep-alive and --join with their edge cases. It runs the sanitizer build
 * (make -C native sanitize, built by npm test), so a memory error or undefined behaviour on any of these
 * paths fails the suite. The sandboxes use a single-id map (root inside = the caller), which any user may
 * write without newuidmap.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex, Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { testDir } from '../helpers/images.js';
import { eventually } from '../helpers/network.js';
import { isAlive } from '../../src/util/processes.js';

const HELPER = fileURLToPath(new URL('../../../native/devbox-helper-sanitized', import.meta.url));
const MAPS = ['--uid-map', `0:${process.getuid!()}:1`, '--gid-map', `0:${process.getgid!()}:1`];
/** A helper run that takes longer than this is hung: it is killed and the test fails. */
const RUN_TIMEOUT_MS = 30_000;

interface HelperResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the helper to its end; a sanitizer report anywhere in its stderr fails the test. */
function helper(args: readonly string[], options: { stdio3?: boolean } = {}): Promise<HelperResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(HELPER, args, { stdio: ['ignore', 'pipe', 'pipe', ...(options.stdio3 ? ['pipe' as const] : [])] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') return reject(new Error(`devbox-helper ${args.join(' ')}: hung, killed after ${RUN_TIMEOUT_MS} ms`));
      assert.not.match(stderr, /Sanitizer|runtime error:/, `sanitizer report:\n${stderr}`);
      resolve({ status: code ?? 128, stdout, stderr });
    });
  });
}

let rootfs: string;
/** A directory outside the root file system that symlinks in the image point at. */
let host: string;

test.before(async () => {
  if (!existsSync(HELPER)) throw new Error(`${HELPER} is missing: make -C native sanitize`);
  const dir = await testDir('contract');
  rootfs = join(dir, 'rootfs');
  host = join(dir, 'host');
  mkdirSync(host);
  for (const sub of ['bin', 'etc', 'tmp', 'proc', 'dev', 'sys', 'data']) mkdirSync(join(rootfs, sub), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of ['sh', 'echo', 'cat', 'ls', 'ps', 'sleep', 'hostname', 'kill', 'true']) symlinkSync('busybox', join(rootfs, 'bin', applet));
  writeFileSync(join(rootfs, 'etc/not-a-program'), 'data\n');
  // What a hostile image may hold: links that would lead a mount out of the root if they were followed as the
  // host sees them. Their targets exist both on the host and, taken inside the root, in the image.
  symlinkSync(host, join(rootfs, 'absolute'));
  mkdirSync(join(rootfs, host), { recursive: true });
  symlinkSync('../host', join(rootfs, 'relative'));
  mkdirSync(join(rootfs, 'host'));
  symlinkSync('/nonexistent/target', join(rootfs, 'dangling'));
});

const run = (args: readonly string[], command: readonly string[]) =>
  helper([...MAPS, '--rootfs', rootfs, '--setenv', 'PATH', '/bin', ...args, '--', ...command]);

/** Each refusal: status 125, exactly one line naming what is wrong, and nothing created or removed. */
const refusals: [string, () => string[], string][] = [
  ['an unknown option', () => [...MAPS, '--bogus'], 'unknown option "--bogus" (a command goes after --)'],
  ['an option without its arguments', () => [...MAPS, '--rootfs', rootfs, '--bind', '/x'], '--bind takes 2 arguments'],
  ['an option given twice', () => [...MAPS, '--hostname', 'a', '--hostname', 'b'], '--hostname may be given only once'],
  ['no id maps', () => ['--rootfs', rootfs, '--', 'true'], '--uid-map and --gid-map are required'],
  ['a map that is not inside:outside:count', () => ['--uid-map', 'x', '--gid-map', '0:0:1'], '--uid-map: expected inside:outside:count'],
  ['a map of 0 ids', () => ['--uid-map', '0:0:0', '--gid-map', '0:0:1'], '--uid-map: a range of 0 ids'],
  [
    'maps without root',
    () => ['--uid-map', `1:${process.getuid!()}:1`, ...MAPS.slice(2), '--rootfs', rootfs, '--', 'true'],
    'the id maps must map root (0) of the namespace',
  ],
  [
    'two root file systems',
    () => [...MAPS, '--rootfs', rootfs, '--overlay', '/l', '/u', '/w', '--', 'true'],
    'only one of --overlay, --fuse-overlay and --rootfs may be given',
  ],
  ['an overlay without a mountpoint', () => [...MAPS, '--overlay', '/l', '/u', '/w', '--', 'true'], '--overlay and --fuse-overlay need --mountpoint'],
  [
    'a mountpoint without an overlay',
    () => [...MAPS, '--rootfs', rootfs, '--mountpoint', '/m', '--', 'true'],
    '--mountpoint is used only with --overlay or --fuse-overlay',
  ],
  [
    'an overlay with no lower directory',
    () => [...MAPS, '--overlay', '', '/u', '/w', '--mountpoint', '/m', '--', 'true'],
    '--overlay: no lower directory given',
  ],
  ['no root file system', () => [...MAPS, '--', 'true'], 'a root file system is required: --overlay, --fuse-overlay or --rootfs'],
  ['no command', () => [...MAPS, '--rootfs', rootfs], 'no command given after --'],
  [
    '--setup-during-sync without --sync-fd',
    () => [...MAPS, '--rootfs', rootfs, '--setup-during-sync', '--', 'true'],
    "--setup-during-sync needs --sync-fd: the caller's byte is what the command waits for",
  ],
  [
    '--keep-alive with a command',
    () => [...MAPS, '--rootfs', rootfs, '--keep-alive', '--', 'true'],
    '--keep-alive takes no command, --tty, --remove-after or --seccomp: commands --join the sandbox',
  ],
  ['a relative working directory', () => [...MAPS, '--rootfs', rootfs, '--chdir', 'rel', '--', 'true'], '--chdir must be an absolute path: "rel"'],
  [
    'a relative mount destination',
    () => [...MAPS, '--rootfs', rootfs, '--tmpfs', 'dest', '', '--', 'true'],
    'a mount destination must be an absolute path: "dest"',
  ],
  ['a mount on /', () => [...MAPS, '--rootfs', rootfs, '--bind', '/tmp', '//', '--', 'true'], 'a mount destination cannot be /'],
  [
    '--remove-after not naming a directory',
    () => [...MAPS, '--rootfs', rootfs, '--remove-after', '/a/..', '--', 'true'],
    '--remove-after needs a directory path ending in its name: "/a/.."',
  ],
  ['an unmapped --uid', () => [...MAPS, '--rootfs', rootfs, '--uid', '5', '--', 'true'], '--uid 5 is not mapped in the user namespace'],
  ['an unmapped --gid', () => [...MAPS, '--rootfs', rootfs, '--gid', '5', '--', 'true'], '--gid 5 is not mapped in the user namespace'],
  ['an unmapped group', () => [...MAPS, '--rootfs', rootfs, '--groups', '0,7', '--', 'true'], '--groups: 7 is not mapped in the user namespace'],
  ['an empty hostname', () => [...MAPS, '--rootfs', rootfs, '--hostname', '', '--', 'true'], '--hostname: expected 1 to 64 characters: ""'],
  ['a variable name with "="', () => [...MAPS, '--rootfs', rootfs, '--setenv', 'A=B', 'c', '--', 'true'], '--setenv: invalid variable name "A=B"'],
  [
    'a standard stream as --sync-fd',
    () => [...MAPS, '--rootfs', rootfs, '--sync-fd', '1', '--', 'true'],
    '--sync-fd: 1 is a standard stream; give a descriptor of its own',
  ],
  ['a --sync-fd that is not open', () => [...MAPS, '--rootfs', rootfs, '--sync-fd', '97', '--', 'true'], '--sync-fd: descriptor 97: Bad file descriptor'],
  ['--no-pivot with a mount', () => [...MAPS, '--no-pivot', '--tmpfs', '/x', ''], '--no-pivot cannot be combined with --tmpfs'],
  [
    '--no-pivot entering another namespace with id maps of its own',
    () => [...MAPS, '--no-pivot', '--unshare-net', '--userns-of', '2'],
    "--no-pivot --userns-of PID takes --unshare-net and no id maps, --overlay or --confine: it enters PID's user namespace",
  ],
  [
    "--netns-of without the same process's user namespace",
    () => [...MAPS, '--rootfs', rootfs, '--userns-of', '2', '--netns-of', '3', '--', 'true'],
    '--netns-of PID needs --userns-of the same PID, and no --unshare-net',
  ],
  [
    'a fuse program that does not exist',
    () => [...MAPS, '--fuse-overlay', 'no-such-fuse-program', '/l', '/u', '/w', '--mountpoint', '/m', '--', 'true'],
    '--fuse-overlay: no-such-fuse-program not found',
  ],
  ['--exit-command without --container', () => [...MAPS, '--rootfs', rootfs, '--exit-command', '/bin/true', '--', 'true'], '--exit-command needs --container'],
  [
    'a relative --exit-command',
    () => [...MAPS, '--rootfs', rootfs, '--container', '/c', '--exit-command', 'true', '--', 'true'],
    '--exit-command\'s program must be an absolute path: "true"',
  ],
  [
    '--slirp4netns without its log',
    () => [...MAPS, '--rootfs', rootfs, '--container', '/c', '--slirp4netns', '/usr/bin/slirp4netns', '--slirp4netns', '{pid}', '--', 'true'],
    '--slirp4netns and --slirp4netns-log go together: its messages need a file',
  ],
  [
    "--slirp4netns without pid 1's place",
    () => [...MAPS, '--rootfs', rootfs, '--container', '/c', '--slirp4netns', '/usr/bin/slirp4netns', '--slirp4netns-log', '/c/log', '--', 'true'],
    "--slirp4netns: its command line needs {pid} once, where pid 1's pid goes",
  ],
  [
    '--slirp4netns without a network namespace to link',
    () => [
      ...MAPS,
      '--rootfs',
      rootfs,
      '--container',
      '/c',
      '--slirp4netns',
      '/usr/bin/slirp4netns',
      '--slirp4netns',
      '{pid}',
      '--slirp4netns-log',
      '/c/log',
      '--',
      'true',
    ],
    '--slirp4netns needs --unshare-net and --setup-during-sync: it links the new network namespace while pid 1 sets up',
  ],
  ['--join with a mount', () => ['--join', '2', '--bind', '/a', '/b', '--', 'true'], '--join cannot be combined with --bind'],
  ['--join of pid 1', () => ['--join', '1', '--', 'true'], "--join: expected the host pid of a live sandbox's pid 1"],
  ['--join without a command', () => ['--join', '2'], 'no command given after --'],
];

test('each refusal is one line and status 125, and nothing is created or removed', async () => {
  const keep = join(await testDir('refused'), 'container');
  mkdirSync(keep);
  for (const [what, args, message] of refusals) {
    // --remove-after is honoured even when setup fails: a refusal must come before it can act.
    const given = args();
    const withRemove = given.includes('--remove-after') || given.includes('--join') || given.includes('--no-pivot') || given.includes('--keep-alive');
    const r = await helper(withRemove ? given : [...given.slice(0, 4), '--remove-after', keep, ...given.slice(4)]);
    assert.is(r.status, 125, `${what}: ${r.stderr}`);
    assert.is(r.stderr, `devbox-helper: ${message}\n`, what);
    assert.is(r.stdout, '', what);
    assert.ok(existsSync(keep), `${what}: --remove-after acted on a refused command line`);
  }
});

test("exit statuses: the command's own, 128+signal, 126 cannot execute, 127 not found, 125 setup failed", async () => {
  assert.is((await run([], ['sh', '-c', 'exit 7'])).status, 7);
  assert.is((await run([], ['sh', '-c', 'kill -TERM $$'])).status, 143);
  const notFound = await run([], ['no-such-program']);
  assert.equal(notFound, { status: 127, stdout: '', stderr: 'devbox-helper: no-such-program: executable file not found in $PATH\n' });
  const noFile = await run([], ['/bin/no-such-file']);
  assert.equal(noFile, { status: 127, stdout: '', stderr: 'devbox-helper: /bin/no-such-file: no such file or directory\n' });
  const notExecutable = await run([], ['/etc/not-a-program']);
  assert.equal(notExecutable, { status: 126, stdout: '', stderr: 'devbox-helper: /etc/not-a-program: Permission denied\n' });
  const setup = await run(['--bind', '/nonexistent-source', '/data/x'], ['true']);
  assert.equal(setup, { status: 125, stdout: '', stderr: 'devbox-helper: bind source /nonexistent-source: No such file or directory\n' });
});

test('a setup failure still removes --remove-after; a finished run removes it too', async () => {
  for (const args of [['--bind', '/nonexistent-source', '/data/x'], []]) {
    const container = join(await testDir('remove'), 'container');
    mkdirSync(join(container, 'upper'), { recursive: true });
    const r = await run(['--remove-after', container, ...args], ['true']);
    assert.is(r.status, args.length ? 125 : 0, r.stderr);
    assert.not.ok(existsSync(container), `left behind after status ${r.status}`);
  }
});

test('keep-namespace says ready, then ends when its state file is removed, or its directory; a bad command line is one line', async () => {
  assert.equal(await helper(['keep-namespace']), { status: 125, stdout: '', stderr: 'devbox-helper: usage: devbox-helper keep-namespace DIR\n' });
  const missing = await helper(['keep-namespace', '/nonexistent-keeper-dir']);
  assert.equal([missing.status, missing.stderr], [125, 'devbox-helper: open /nonexistent-keeper-dir: No such file or directory\n']);
  for (const removed of ['owner.json', '.']) {
    const dir = join(await testDir('keeper'), 'owner');
    mkdirSync(dir);
    // Written before the start: the keeper has seen it, and waits for nothing but its removal.
    writeFileSync(join(dir, 'owner.json'), '{}');
    const child = spawn(HELPER, ['keep-namespace', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    const ready = await new Promise<string>((resolve) => child.stdout!.once('data', (d) => resolve(String(d))));
    assert.is(ready, 'ready\n');
    rmSync(join(dir, removed), { recursive: true });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    const status = await closed;
    clearTimeout(timer);
    assert.is(status, 0, `${removed}: ${stderr}`);
    assert.is(stderr, '', removed);
  }
});

test('fsops remove deletes a tree without following the symlinks in it, and refuses a path that names no entry', async () => {
  const dir = await testDir('fsops-remove');
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'kept'), 'kept\n');
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'a/b'), { recursive: true });
  writeFileSync(join(tree, 'a/b/file'), 'x');
  symlinkSync(outside, join(tree, 'a/to-outside'));
  symlinkSync(outside, join(dir, 'link-to-outside'));
  const r = await helper(['fsops', 'remove', tree, 'remove', join(dir, 'missing'), 'remove', join(dir, 'link-to-outside')]);
  assert.equal(r, { status: 0, stdout: '', stderr: '' });
  assert.equal(readdirSync(dir), ['outside']);
  assert.equal(readdirSync(outside), ['kept']);
  for (const path of ['/', `${outside}/..`, `${outside}/.`]) {
    const refused = await helper(['fsops', 'remove', path]);
    assert.equal(refused, { status: 1, stdout: '', stderr: `devbox-helper: fsops remove: not a path to remove: "${path}"\n` });
  }
  assert.equal(readdirSync(outside), ['kept']);
});

test('a mount destination that is a symlink in the image is resolved inside the root, never on the host', async () => {
  const source = await testDir('source');
  writeFileSync(join(source, 'file'), 'from the bind\n');
  for (const link of ['absolute', 'relative']) {
    // --image-tmp: the absolute link's target lies under the host's /tmp, which a sandbox's tmpfs would cover.
    const r = await run(
      ['--image-tmp', '--ro-bind', source, `/${link}/mnt`, '--tmpfs', `/${link}/scratch`, ''],
      ['sh', '-c', `cat /${link}/mnt/file; ls /${link}`],
    );
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, 'from the bind\nmnt\nscratch\n', link);
    assert.equal(readdirSync(host), [], `a mount through /${link} reached the host directory it points at`);
  }
  // What the mounts were made on: the link's target taken inside the root.
  assert.ok(existsSync(join(rootfs, host, 'mnt')), 'the absolute link resolves under the root');
  assert.ok(existsSync(join(rootfs, 'host', 'mnt')), 'the relative link stops at the root');
  assert.is(readlinkSync(join(rootfs, 'absolute')), host, 'the image keeps its link');
});

test('a mount destination that is a dangling symlink is refused, and nothing is created at its target', async () => {
  const r = await run(['--tmpfs', '/dangling', ''], ['true']);
  assert.equal(r, { status: 125, stdout: '', stderr: 'devbox-helper: create /dangling in the sandbox: No such file or directory\n' });
  assert.not.ok(existsSync(join(rootfs, 'nonexistent')));
});

/** A sandbox started with --sync-fd 3 --setup-during-sync: the helper, its pid 1 (once announced) and its end. */
async function startDuringSync(args: readonly string[]) {
  const child = spawn(HELPER, [...MAPS, '--rootfs', rootfs, '--setenv', 'PATH', '/bin', '--sync-fd', '3', '--setup-during-sync', ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  const closed = new Promise<number>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(code ?? 128);
    }),
  );
  const sync = child.stdio[3] as Duplex;
  const line = await new Promise<string>((resolve) => sync.once('data', (d: Buffer) => resolve(d.toString())));
  return { pid: Number(line), sync, closed, stderr: () => stderr };
}

test('--setup-during-sync: pid 1 sets up while the caller holds the go, and only its command waits for it', async () => {
  const dir = await testDir('setup-during-sync');
  const started = await startDuringSync(['--bind', dir, '/data', '--', 'sh', '-c', 'echo ran > /data/ran']);
  // Readable while pid 1 sets up (it is dumpable until the go): its root is the sandbox's once the bind is there.
  await eventually("pid 1's mounts", () => (readFileSync(`/proc/${started.pid}/mountinfo`, 'utf8').includes(' /data ') ? true : undefined), 10_000);
  assert.not.ok(existsSync(join(dir, 'ran')), 'the command waits for the go');
  started.sync.write('g');
  assert.is(await started.closed, 0, started.stderr());
  assert.is(readFileSync(join(dir, 'ran'), 'utf8'), 'ran\n');
  started.sync.destroy();

  // A caller that gives up once pid 1 is set up: nothing ran, nothing said (the caller says why).
  const givenUp = await startDuringSync(['--bind', dir, '/data', '--', 'sh', '-c', 'echo again > /data/again']);
  await eventually("pid 1's mounts", () => (readFileSync(`/proc/${givenUp.pid}/mountinfo`, 'utf8').includes(' /data ') ? true : undefined), 10_000);
  givenUp.sync.destroy();
  assert.is(await givenUp.closed, 125);
  assert.is(givenUp.stderr(), '');
  assert.not.ok(existsSync(join(dir, 'again')), 'the command never ran');
  await eventually("the sandbox's pid 1 to end", () => (isAlive(givenUp.pid) ? undefined : true), 5000);
});

test('--setup-during-sync: a setup that fails ends the helper without the go, saying why', async () => {
  const failed = await startDuringSync(['--tmpfs', '/dangling', '', '--', 'true']);
  // The go is never sent: the helper must not wait for it once pid 1 has failed.
  assert.is(await failed.closed, 125);
  assert.is(failed.stderr(), 'devbox-helper: create /dangling in the sandbox: No such file or directory\n');
  failed.sync.destroy();
  assert.not.ok(existsSync(join(rootfs, 'nonexistent')));
});

/** A --keep-alive sandbox: its pid 1's host pid once it is up, and its supervising helper. */
async function startLive(hostname: string): Promise<{ pid: number; stop: () => Promise<number> }> {
  const child = spawn(HELPER, [...MAPS, '--rootfs', rootfs, '--hostname', hostname, '--sync-fd', '3', '--keep-alive'], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  // The --sync-fd handshake: pid 1's pid, then the go byte (devbox records the sandbox in between).
  const sync = child.stdio[3] as Writable & Readable;
  sync.once('data', () => sync.write('g'));
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const closed = new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? 128)));
  let stdout = '';
  for await (const chunk of child.stdout!) stdout += chunk; // the helper closes stdout once it has announced the pid
  assert.match(stdout, /^\d+\n$/, `announcement: ${JSON.stringify(stdout)}; stderr: ${stderr}`);
  return {
    pid: Number(stdout),
    stop: async () => {
      child.kill('SIGTERM');
      const status = await closed;
      sync.destroy();
      assert.not.match(stderr, /Sanitizer|runtime error:/, stderr);
      return status;
    },
  };
}

test('--join runs a command in the live sandbox: its hostname, its pid namespace, its exit status', async () => {
  const live = await startLive('live-box');
  try {
    const r = await helper(['--join', String(live.pid), '--setenv', 'PATH', '/bin', '--', 'sh', '-c', 'hostname; cat /proc/1/cmdline; echo; exit 5']);
    // pid 1's argv area is overwritten with "devbox-init" and zeros: /proc/1/cmdline reads them all.
    assert.equal({ ...r, stdout: r.stdout.replace(/\0+/g, '') }, { status: 5, stdout: 'live-box\ndevbox-init\n', stderr: '' });
    const missing = await helper(['--join', String(live.pid), '--setenv', 'PATH', '/bin', '--', 'no-such-program']);
    assert.is(missing.status, 127);
  } finally {
    assert.is(await live.stop(), 0);
  }
  await eventually("the sandbox's pid 1 to end", () => (isAlive(live.pid) ? undefined : true), 5000);
  const afterStop = await helper(['--join', String(live.pid), '--', 'true']);
  assert.is(afterStop.status, 125);
  assert.match(afterStop.stderr, new RegExp(`^devbox-helper: no live sandbox with pid ${live.pid}: No such process\n$`));
});

test('--join --cgroup DIR: the joining process writes itself into DIR/cgroup.procs before it enters the sandbox', async () => {
  // A folder standing in for a delegated cgroup v2 directory (none is delegated on every machine): the file the
  // kernel would move the writer by gets the helper's host pid, and one that cannot be written stops the join.
  const dir = await testDir('cgroup');
  const live = await startLive('cgroup-box');
  try {
    writeFileSync(join(dir, 'cgroup.procs'), '');
    const r = await helper(['--join', String(live.pid), '--cgroup', dir, '--setenv', 'PATH', '/bin', '--', 'true']);
    assert.is(r.status, 0, r.stderr);
    const written = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
    assert.match(written, /^[1-9]\d*$/);
    rmSync(join(dir, 'cgroup.procs'));
    mkdirSync(join(dir, 'cgroup.procs'));
    const refused = await helper(['--join', String(live.pid), '--cgroup', dir, '--', 'true']);
    assert.is(refused.status, 125);
    assert.match(refused.stderr, new RegExp(`^devbox-helper: move pid \\d+ into the cgroup ${dir}: Is a directory\n$`));
  } finally {
    assert.is(await live.stop(), 0);
  }
});

test('--join refuses a pid that is not a sandbox: entering its namespaces is entering our own', async () => {
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    const r = await helper(['--join', String(other.pid), '--', 'true']);
    assert.equal(r, { status: 125, stdout: '', stderr: `devbox-helper: enter the namespaces of pid ${other.pid}: Invalid argument\n` });
  } finally {
    other.kill('SIGKILL');
  }
});

test('--exit-command: a caller still waiting in the foreground takes it over; one that hangs up leaves it to the supervisor', async () => {
  const dir = await testDir('exit-command');
  for (const answers of [true, false]) {
    const container = join(dir, answers ? 'answered' : 'hung-up');
    mkdirSync(container);
    const marker = join(container, 'exit-command-ran');
    const exitCommand = ['/bin/sh', '-c', `echo ran > ${marker}`].flatMap((arg) => ['--exit-command', arg]);
    const args = [...MAPS, '--rootfs', rootfs, '--setenv', 'PATH', '/bin', '--container', container, '--notify-fd', '3', ...exitCommand, '--', 'true'];
    const child = spawn(HELPER, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    const notify = child.stdio[3] as Duplex;
    let lines = '';
    notify.on('data', (chunk) => {
      lines += chunk;
      if (!lines.endsWith('exit-command\n')) return;
      if (answers) notify.end('k');
      else notify.destroy();
    });
    assert.is(await closed, 0, stderr);
    assert.match(lines, /^up \d+\nexit-command\n$/, `notify: ${JSON.stringify(lines)}; stderr: ${stderr}`);
    assert.not.match(stderr, /Sanitizer|runtime error:/, stderr);
    assert.is(existsSync(marker), !answers, answers ? 'the supervisor ran what the caller took over' : 'nobody ran the exit command');
  }
});

test.run();
