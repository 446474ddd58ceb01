/**
 * `devbox run` end to end, as the unprivileged user running the suite: real user, mount, pid namespaces,
 * real kernel overlay / fuse-overlayfs mounts, a real pseudo-terminal.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { hostIdFor, resolveIdMapping } from '../../src/userns/idmap.js';
import { DEVBOX_BIN, devbox, devboxOk } from '../helpers/cli.js';
import { importBusybox, testDir, writeDockerArchive } from '../helpers/images.js';
import { startedSince, suiteProcesses, type SuiteProcess } from '../helpers/processes.js';

const IMAGE = 'busybox:latest';
const { mapping } = resolveIdMapping();
const containersDir = () => join(process.env.XDG_DATA_HOME!, 'devbox', 'containers');

test.before(async () => {
  await importBusybox(IMAGE);
});

// No sandbox process or fuse-overlayfs daemon of a test outlives it.
const SANDBOX_PROCESSES = ['devbox-helper', 'fuse-overlayfs'];
let running: SuiteProcess[][] = [];
test.before.each(() => {
  running = SANDBOX_PROCESSES.map(suiteProcesses);
});
test.after.each(() => {
  for (const [i, name] of SANDBOX_PROCESSES.entries()) assert.equal(startedSince(running[i], name), [], `a ${name} outlived the test`);
});

test('runs a command and passes its output and exit status through', async () => {
  const ok = await devbox(['run', '--rm', IMAGE, 'echo', 'hello', 'world']);
  assert.is(ok.exitCode, 0, ok.stderr);
  assert.is(ok.stdout, 'hello world\n');
  const failed = await devbox(['run', '--rm', IMAGE, 'sh', '-c', 'echo oops >&2; exit 3']);
  assert.is(failed.exitCode, 3);
  assert.is(failed.stderr, 'oops\n');
});

test('a command killed by a signal reports 128+signal', async () => {
  const r = await devbox(['run', '--rm', IMAGE, 'sh', '-c', 'kill -KILL $$']);
  assert.is(r.exitCode, 137);
});

test('a command missing from the image exits 127 with a message naming it', async () => {
  const r = await devbox(['run', '--rm', IMAGE, 'no-such-program']);
  assert.is(r.exitCode, 127);
  assert.match(r.stderr, /no-such-program/);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('the pid namespace shows only the sandbox: devbox init is pid 1, the command pid 2', async () => {
  const r = await devboxOk(['run', '--rm', IMAGE, 'sh', '-c', 'echo $$; ls /proc | grep -c "^[0-9]"']);
  const [pid, count] = r.stdout.trim().split('\n').map(Number);
  assert.is(pid, 2);
  assert.ok(count <= 4, `saw ${count} processes`);
});

test('uts: hostname from --hostname, default the short container id', async () => {
  assert.is((await devboxOk(['run', '--rm', '--hostname', 'box1', IMAGE, 'hostname'])).stdout, 'box1\n');
  assert.match((await devboxOk(['run', '--rm', IMAGE, 'cat', '/etc/hostname'])).stdout, /^[0-9a-f]{12}\n$/);
});

test('image and flag environment, working directory and user apply as in Docker', async () => {
  const r = await devboxOk(['run', '--rm', '-e', 'GREETING=hi', '-w', '/tmp/new/dir', '-u', 'alice', IMAGE, 'sh', '-c', 'echo $GREETING $HOME; pwd; id']);
  const [env, cwd, id] = r.stdout.trim().split('\n');
  assert.is(env, 'hi /home/alice');
  assert.is(cwd, '/tmp/new/dir');
  // The kernel keeps supplementary groups sorted; the primary group is one of them, as with runc.
  assert.is(id, 'uid=1000(alice) gid=1000(alice) groups=10(wheel),1000(alice)');
});

test("keep-id: a file written into a bind mount as the caller's uid belongs to the caller outside", async () => {
  const dir = await testDir('bind');
  const uid = process.getuid!();
  const gid = process.getgid!();
  await devboxOk(['run', '--rm', '-v', `${dir}:/data`, '-u', `${mapping.uid}:${mapping.gid}`, IMAGE, 'sh', '-c', 'echo mine > /data/by-me']);
  const mine = statSync(join(dir, 'by-me'));
  assert.is(mine.uid, uid);
  assert.is(mine.gid, gid);
  await devboxOk(['run', '--rm', '-v', `${dir}:/data`, IMAGE, 'touch', '/data/by-root']);
  assert.is(statSync(join(dir, 'by-root')).uid, hostIdFor(mapping.uidMap, 0));
});

test('a read-only bind mount refuses writes', async () => {
  const dir = await testDir('ro');
  writeFileSync(join(dir, 'keep'), 'x');
  const r = await devbox(['run', '--rm', '-v', `${dir}:/data:ro`, IMAGE, 'sh', '-c', 'echo y > /data/keep || exit 9; echo written']);
  assert.is(r.exitCode, 9, r.stdout + r.stderr);
  assert.match(r.stderr, /Read-only file system/);
});

test('a missing bind source is one line, exit 125, and leaves no container behind', async () => {
  const before = existsSync(containersDir()) ? readdirSync(containersDir()).length : 0;
  const r = await devbox(['run', '--rm', '-v', '/no/such/dir:/data', IMAGE, 'true']);
  assert.is(r.exitCode, 125);
  assert.is(r.stderr, 'devbox: bind source path does not exist: /no/such/dir (create it first, or fix the path mounted at /data)\n');
  assert.is(existsSync(containersDir()) ? readdirSync(containersDir()).length : 0, before);
});

test("a sandbox that fails to set up while slirp4netns attaches: pid 1's one line, exit 125, nothing left running", async () => {
  const list = () => (existsSync(containersDir()) ? readdirSync(containersDir()) : []);
  const before = list();
  // /etc/hostname is a file bound over the image's: nothing can be mounted below it, which pid 1 finds out
  // while devbox attaches the network.
  const failing = ['--network', 'slirp4netns', '--tmpfs', '/etc/hostname/x', IMAGE, 'true'];
  const removed = await devbox(['run', '--rm', ...failing]);
  assert.is(removed.exitCode, 125);
  assert.is(removed.stderr, 'devbox-helper: create /etc/hostname/x in the sandbox: Not a directory\n');
  assert.equal(list(), before);
  const detached = await devbox(['run', '-d', ...failing]);
  assert.is(detached.exitCode, 125);
  assert.match(detached.stderr, /^devbox: container \S+ failed to start: create \/etc\/hostname\/x in the sandbox: Not a directory \(/);
  assert.is(detached.stderr.trim().split('\n').length, 1, detached.stderr);
  const kept = list().filter((id) => !before.includes(id));
  assert.is(kept.length, 1);
  await devboxOk(['rm', kept[0]]);
});

test('an unknown image is one line with the fix, exit 125', async () => {
  const r = await devbox(['run', '--rm', '--pull', 'never', 'no-such-image:1', 'true']);
  assert.is(r.exitCode, 125);
  assert.match(r.stderr, /^devbox: unknown image "no-such-image:1"/);
  assert.is(r.stderr.trim().split('\n').length, 1);
});

test('--rm removes the container; without it the container stays, listed by ps -a, until rm', async () => {
  const list = () => (existsSync(containersDir()) ? readdirSync(containersDir()) : []);
  const before = list();
  await devboxOk(['run', '--rm', IMAGE, 'sh', '-c', 'echo data > /written']);
  assert.equal(list(), before);
  assert.is((await devbox(['run', IMAGE, 'sh', '-c', 'echo data > /written; exit 3'])).exitCode, 3);
  const kept = list().filter((id) => !before.includes(id));
  assert.is(kept.length, 1);
  const ps = (await devboxOk(['ps', '-a'])).stdout;
  assert.match(ps, new RegExp(`^${kept[0].slice(0, 12)}\\s+busybox:latest\\s+.*Exited \\(3\\)`, 'm'));
  // Other suites' containers may be running in the same store: only this one is looked for.
  assert.not.ok((await devboxOk(['ps', '-q'])).stdout.split('\n').includes(kept[0].slice(0, 12)), 'an exited container is not listed as running');
  assert.is((await devboxOk(['rm', kept[0].slice(0, 8)])).stdout, `${kept[0].slice(0, 8)}\n`, 'rm prints each container as it was named');
  assert.equal(list(), before);
});

test("a --rm container's kernel overlay is volatile (its unmount syncs nothing to disk); a kept container's is not", async () => {
  // The root's line in mountinfo: its super options follow the file system type and source.
  const rootOptions = async (options: string[]) => {
    const r = await devboxOk(['run', ...options, '--storage', 'native', IMAGE, 'cat', '/proc/self/mountinfo']);
    const line = r.stdout.split('\n').find((l) => l.split(' ')[4] === '/');
    assert.ok(line, r.stdout);
    return line!.split(' - ')[1]!.split(' ')[2]!.split(',');
  };
  const volatile = (options: string[]) => options.some((o) => o === 'volatile' || o === 'fsync=volatile');
  assert.ok(volatile(await rootOptions(['--rm'])), 'a --rm container is mounted volatile');
  const before = existsSync(containersDir()) ? readdirSync(containersDir()) : [];
  assert.not.ok(volatile(await rootOptions([])), 'a kept container is not');
  for (const id of readdirSync(containersDir()).filter((id) => !before.includes(id))) await devboxOk(['rm', id]);
});

test('network none leaves only loopback', async () => {
  const r = await devboxOk(['run', '--rm', '--network', 'none', IMAGE, 'ls', '/sys/class/net']);
  assert.is(r.stdout.trim(), 'lo');
});

test('SIGTERM sent to devbox reaches the command, whose status comes back', async () => {
  const child = spawn(process.execPath, [DEVBOX_BIN, 'run', '--rm', IMAGE, 'sh', '-c', 'trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.is(code, 42);
});

test("-t gives the command a terminal of its own devpts with the caller's window size", async () => {
  // script(1) runs devbox on a real pseudo-terminal of 33 rows x 77 columns.
  const out = execFileSync(
    'script',
    ['-qec', `stty rows 33 cols 77; ${process.execPath} ${DEVBOX_BIN} run --rm -t ${IMAGE} sh -c 'tty; stty size'`, '/dev/null'],
    {
      encoding: 'utf8',
      env: process.env,
    },
  );
  const lines = out.replace(/\r/g, '').trim().split('\n');
  assert.match(lines[0], /^\/dev\/pts\/\d+$/);
  assert.is(lines[1], '33 77');
});

test('-i passes stdin through; without -i the command reads nothing', async () => {
  assert.is((await devboxOk(['run', '--rm', '-i', IMAGE, 'cat'], { input: 'piped\n' })).stdout, 'piped\n');
  assert.is((await devboxOk(['run', '--rm', IMAGE, 'cat'], { input: 'ignored\n' })).stdout, '');
});

for (const storage of ['native', 'fuse', 'copy']) {
  test(`storage ${storage}: upper layers hide whiteouts and opaque dirs of lower ones, writes stay private`, async () => {
    const dir = await testDir('layers');
    const archive = join(dir, 'layers.tar');
    const name = `layered-${storage}:latest`;
    const base = (await import('../helpers/images.js')).busyboxRootfs();
    await writeDockerArchive(archive, name, [
      [
        ...base,
        { name: 'etc/gone', content: 'lower' },
        { name: 'opq', type: 'directory' },
        { name: 'opq/old', content: 'old' },
        { name: 'kept', content: 'lower\n' },
      ],
      [{ name: 'etc/.wh.gone' }, { name: 'opq/.wh..wh..opq' }, { name: 'opq/new', content: 'new' }, { name: 'kept', content: 'upper\n' }],
    ]);
    await devboxOk(['image', 'load', '-i', archive]);
    const r = await devboxOk(['run', '--rm', '--storage', storage, name, 'sh', '-c', 'ls /etc/gone 2>&1; ls /opq; cat /kept; echo x > /kept; rm /bin/true']);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /No such file or directory/);
    assert.is(lines[1], 'new');
    assert.is(lines[2], 'upper');
    // The next container starts from the image again, and --rm leaves nothing behind, quietly.
    const before = existsSync(containersDir()) ? readdirSync(containersDir()) : [];
    const again = await devboxOk(['run', '--rm', '--storage', storage, name, 'sh', '-c', 'cat /kept; ls /bin/true']);
    assert.is(again.stdout, 'upper\n/bin/true\n');
    assert.is(again.stderr, '');
    assert.equal(existsSync(containersDir()) ? readdirSync(containersDir()) : [], before);
  });
}

test.run();
