/**
 * The helper's --archive operations (behind `devbox cp` and `devbox export`) against a hostile root file
 * system, in both places they run: a sandbox set up for the copy (a stopped container) and a live sandbox
 * joined with --join (a running one). The root's symlinks point at the host (`/`, `../..`, magic links), a
 * process inside swaps a directory for a symlink to `/` while copies run (CVE-2018-15664), and the root carries
 * an NSS module that would run if the helper looked a name up in it (CVE-2019-14271).
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import type tar from 'tar-stream';
import { helperPath, idMapArgs } from '../../src/runtime/helper.js';
import { startLiveSandbox } from '../../src/runtime/launch.js';
import { resolveSecurity } from '../../src/runtime/security.js';
import { isAlive } from '../../src/util/processes.js';
import { resolveIdMapping } from '../../src/userns/idmap.js';
import { packTar, readTar, testDir } from '../helpers/images.js';

const { mapping } = resolveIdMapping();
const BUSYBOX_APPLETS = ['sh', 'mv', 'ln', 'rm', 'mkdir', 'sleep', 'cat'];

interface Result {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function runHelper(args: readonly string[], input?: Buffer): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(helperPath(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? Buffer.alloc(0));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr }));
  });
}

/** Where an operation runs: a sandbox made for it over `root`, or the live sandbox whose pid 1 is `pid`. */
type Place = { root: string } | { pid: number };

function archive(place: Place, op: readonly string[], input?: Buffer): Promise<Result> {
  const where = 'pid' in place ? ['--join', String(place.pid)] : [...idMapArgs(mapping), '--rootfs', place.root, '--unshare-net'];
  return runHelper([...where, '--archive', '--', ...op], input);
}

/** Names and contents of a tar; a symlink's content is `-> TARGET`. */
async function entries(data: Buffer): Promise<Map<string, string>> {
  return new Map((await readTar(data)).map(({ header, content }) => [header.name, header.type === 'symlink' ? `-> ${header.linkname}` : content]));
}

async function firstHeader(data: Buffer): Promise<tar.Header> {
  return (await readTar(data))[0].header;
}

/** A root file system whose symlinks lead at the host, and a host directory with a secret beside it. */
async function hostileRoot(): Promise<{ root: string; host: string }> {
  const base = await testDir('archive');
  const root = join(base, 'root');
  const host = join(base, 'host');
  for (const dir of ['bin', 'etc', 'w/dir', 'data']) mkdirSync(join(root, dir), { recursive: true });
  mkdirSync(host);
  writeFileSync(join(host, 'secret'), 'host secret\n');
  execFileSync('cp', ['/bin/busybox', join(root, 'bin/busybox')]);
  for (const applet of BUSYBOX_APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'data/file'), 'container file\n');
  symlinkSync('/', join(root, 'abs'));
  symlinkSync('../../../../../../../../', join(root, 'rel'));
  symlinkSync('/proc/self/root', join(root, 'magic'));
  return { root, host };
}

test('get resolves symlinks inside the root: /, climbing ones and magic links never reach the host', async () => {
  const { root, host } = await hostileRoot();
  const passwd = await archive({ root }, ['get', '/abs/etc/passwd', 'passwd']);
  assert.is(passwd.code, 0, passwd.stderr);
  assert.equal([...(await entries(passwd.stdout))], [['passwd', 'root:x:0:0:root:/root:/bin/sh\n']]);
  for (const link of ['abs', 'rel', 'magic']) {
    const r = await archive({ root }, ['get', '--follow', `/${link}${host}/secret`, 'secret']);
    assert.not.ok(r.stdout.includes('host secret'), `${link}: ${r.stderr}`);
    assert.ok(r.code === 2 || /Too many levels of symbolic links/.test(r.stderr), `${link}: status ${r.code}, ${r.stderr}`);
  }
  // A directory as a tar: sorted, symlinks as symlinks, the top entry named as asked.
  const dir = await archive({ root }, ['get', '/data', 'copy']);
  assert.equal([...(await entries(dir.stdout)).keys()], ['copy/', 'copy/file']);
  const missing = await archive({ root }, ['get', '/no/such', 'x']);
  assert.equal([missing.code, missing.stderr], [2, 'devbox-helper: /no/such: no such file or directory\n']);
});

test('put extracts inside the root through symlinks, refuses entries that climb out, and owns what it writes as asked', async () => {
  const { root, host } = await hostileRoot();
  const upload = await packTar([
    { name: 'new/', type: 'directory', mode: 0o750 },
    { name: 'new/file', content: 'uploaded\n', mode: 0o640, uid: 1234, gid: 1234 },
    { name: 'new/link', type: 'symlink', linkname: '/etc/passwd' },
  ]);
  const put = await archive({ root }, ['put', '/abs/w', '0', '0'], upload);
  assert.is(put.code, 0, put.stderr);
  // Written through /abs (a symlink to /), owned as asked (root) whatever the tar says, with the tar's mode.
  const back = await archive({ root }, ['get', '/w/new/file', 'file']);
  const header = await firstHeader(back.stdout);
  assert.equal([header.name, header.uid, header.gid, header.mode], ['file', 0, 0, 0o640]);
  assert.equal([...(await entries(back.stdout))], [['file', 'uploaded\n']]);
  const outside = await archive({ root }, ['put', `/rel${host}`, '0', '0'], upload);
  assert.is(outside.code, 1);
  assert.match(outside.stderr, /No such file or directory/);
  for (const [entry, message] of [
    [{ name: '../../../escape', content: 'x' }, /leads out of the destination/],
    [{ name: 'hard', type: 'link' as const, linkname: '../../etc/passwd' }, /leads out of the destination/],
  ] as const) {
    const r = await archive({ root }, ['put', '/w', '0', '0'], await packTar([entry]));
    assert.is(r.code, 1);
    assert.match(r.stderr, message);
  }
  assert.equal(readdirSync(host), ['secret']);
  assert.not.ok(existsSync(join(root, '..', 'escape')));
});

test('stat: the entry itself, then what a symlink leads to inside the root', async () => {
  const { root } = await hostileRoot();
  const r = await archive({ root }, ['stat', '/abs']);
  const [link, target] = r.stdout.toString().trim().split('\n');
  assert.match(link, /^120777 \d+ \d+ 2f$/);
  assert.match(target, /^40755 \d+ \d+ -$/);
  assert.is((await archive({ root }, ['stat', '/nothing'])).stdout.toString(), 'missing\n');
});

/** Starts a live sandbox over `root`; returns its pid 1 and a stop function. */
async function liveSandbox(root: string): Promise<{ pid: number; stop: () => Promise<void> }> {
  const log = openSync(join(await testDir('archive-live-log'), 'log'), 'w');
  let started: Awaited<ReturnType<typeof startLiveSandbox>>;
  try {
    started = await startLiveSandbox(
      { idMapping: mapping, rootfs: { kind: 'directory', dir: root }, mounts: [], hostname: 'archive', network: 'none', security: resolveSecurity() },
      { cwd: root, log },
    );
  } finally {
    closeSync(log);
  }
  assert.ok(started, 'the live sandbox did not start');
  const { pid, supervisorPid } = started!;
  return {
    pid,
    stop: async () => {
      process.kill(supervisorPid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (isAlive(supervisorPid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.not.ok(isAlive(supervisorPid), 'the live sandbox did not end');
    },
  };
}

test('a copy racing a directory swapped for a symlink to / (CVE-2018-15664) stays in the root, running or stopped', async () => {
  const { root, host } = await hostileRoot();
  const live = await liveSandbox(root);
  // Inside: /w/dir is a directory, then for a moment a symlink to /, again and again.
  const swapper = spawn(
    helperPath(),
    // Root in the container with chown, dac_override, dac_read_search, fowner: /w belongs to the caller's id.
    ['--join', String(live.pid), '--caps', '0,1,2,3', '--', '/bin/sh', '-c', 'while :; do mv /w/dir /w/tmp; ln -s / /w/dir; rm /w/dir; mv /w/tmp /w/dir; done'],
    { stdio: 'ignore' },
  );
  try {
    const upload = await packTar([{ name: 'planted', content: 'x' }]);
    let linked = 0;
    for (let i = 0; i < 60; i++) {
      for (const place of [{ pid: live.pid }, { root }]) {
        const read = await archive(place, ['get', '--follow', `/w/dir${host}/secret`, 'secret']);
        assert.not.ok(read.stdout.includes('host secret'), 'the host file was read');
        const wrote = await archive(place, ['put', `/w/dir${host}`, '0', '0'], upload);
        assert.is.not(wrote.code, 0, 'an extraction into a host path succeeded');
        // Through the symlink, / is the root's own: the container file is there for a copy to find.
        const inside = await archive(place, ['stat', '/w/dir/data/file']);
        if (inside.stdout.toString() !== 'missing\n') linked++;
      }
    }
    assert.equal(readdirSync(host), ['secret']);
    assert.ok(linked > 0, 'the swap was never seen: the race did not happen');
  } finally {
    swapper.kill('SIGKILL');
    await live.stop();
  }
});

test('no code is loaded from the container (CVE-2019-14271): an NSS module in it never runs', async () => {
  const { root } = await hostileRoot();
  const build = await testDir('nss');
  const source = join(build, 'evil.c');
  // Its constructor leaves a mark in the working directory: the container's root, had the helper loaded it.
  writeFileSync(
    source,
    '#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void mark(void) { close(open("nss-loaded", O_CREAT | O_WRONLY, 0644)); }\n',
  );
  const library = join(build, 'libnss_evil.so.2');
  execFileSync('cc', ['-shared', '-fPIC', '-o', library, source]);
  for (const dir of ['lib', 'lib64', 'usr/lib', 'lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib/aarch64-linux-gnu']) {
    mkdirSync(join(root, dir), { recursive: true });
    execFileSync('cp', [library, join(root, dir, 'libnss_evil.so.2')]);
  }
  writeFileSync(join(root, 'etc/nsswitch.conf'), 'passwd: evil files\ngroup: evil files\nhosts: evil files\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
  // The module is a working one: loaded here, its constructor marks this directory.
  const cwd = process.cwd();
  process.chdir(build);
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, library);
  } catch {
    // not a Node.js addon: it was loaded, its constructor ran, then Node.js refused it
  } finally {
    process.chdir(cwd);
  }
  assert.ok(existsSync(join(build, 'nss-loaded')), 'the test module does not work');
  const live = await liveSandbox(root);
  try {
    for (const place of [{ pid: live.pid }, { root }]) {
      assert.is((await archive(place, ['stat', '/etc/passwd'])).code, 0);
      assert.is((await archive(place, ['get', '/etc', 'etc'])).code, 0);
      assert.is((await archive(place, ['put', '/data', '1000', '1000'], await packTar([{ name: 'owned', content: 'x', uid: 5, gid: 5 }]))).code, 0);
    }
  } finally {
    await live.stop();
  }
  assert.not.ok(existsSync(join(root, 'nss-loaded')), 'the helper loaded an NSS module of the container');
});

test.run();
