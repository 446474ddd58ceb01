/**
 * What confines a sandbox besides the user namespace, end to end: the default seccomp filter (a probe makes
 * single system calls inside), --security-opt seccomp=unconfined|FILE, --cap-add/--cap-drop as seen in
 * /proc/self/status, runc's masked and read-only paths; for runs, build steps and processes joining a
 * project's sandbox alike.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { helperPath, idMapArgs } from '../../src/runtime/helper.js';
import { resolveIdMapping } from '../../src/userns/idmap.js';
import { devbox, devboxOk } from '../helpers/cli.js';
import { busyboxRootfs, packTar, testDir } from '../helpers/images.js';
import { importProbeImage } from '../helpers/probe.js';

const IMAGE = 'probe:latest';
const { mapping } = resolveIdMapping();
const containersDir = () => join(process.env.XDG_DATA_HOME!, 'devbox', 'containers');
const containers = () => (existsSync(containersDir()) ? readdirSync(containersDir()) : []);
const projects: string[] = [];
const named: string[] = [];

/** What /probe prints for each probe, in one sandbox. */
async function probe(options: string[], names: string[]): Promise<string[]> {
  const script = names.map((n) => `/probe ${n}`).join('; ');
  return (await devboxOk(['run', '--rm', ...options, IMAGE, 'sh', '-c', script])).stdout.trim().split('\n');
}

/** The effective and bounding capability sets of a process in a sandbox, from /proc/self/status. */
async function capabilities(options: string[], user = 'root'): Promise<{ effective: bigint; bounding: bigint }> {
  const r = await devboxOk(['run', '--rm', '-u', user, ...options, IMAGE, 'grep', '-E', '^Cap(Eff|Bnd):', '/proc/self/status']);
  const field = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s*(\\w+)`, 'm').exec(r.stdout)![1]}`);
  return { effective: field('CapEff'), bounding: field('CapBnd') };
}

const CAP_CHOWN = 1n << 0n;
const CAP_NET_ADMIN = 1n << 12n;
const CAP_SYS_ADMIN = 1n << 21n;

test.before(async () => {
  await importProbeImage(IMAGE);
});

test.after(async () => {
  for (const root of projects) await devbox(['stop'], { cwd: root });
  for (const name of named) await devbox(['rm', '-f', name]);
});

test('the default filter refuses keyctl and new namespaces with EPERM; seccomp=unconfined lets them through', async () => {
  const names = ['keyctl', 'unshare-user', 'unshare-mount', 'getpid'];
  assert.equal(await probe([], names), ['EPERM', 'EPERM', 'EPERM', 'ok']);
  const unconfined = await probe(['--security-opt', 'seccomp=unconfined'], names);
  assert.is(unconfined[0], 'ok');
  assert.is(unconfined[1], 'ok'); // a user namespace inside the sandbox's
  assert.is(unconfined[2], 'EPERM'); // by the kernel this time: no CAP_SYS_ADMIN
  const status = await devboxOk(['run', '--rm', IMAGE, 'grep', '^Seccomp:', '/proc/self/status']);
  assert.is(status.stdout, 'Seccomp:\t2\n');
});

test('personality: the query and the flags Docker allows pass, others do not', async () => {
  assert.equal(await probe([], ['personality-query', 'personality-noaslr']), ['ok', 'ENOSYS']);
  assert.equal(await probe(['--security-opt', 'seccomp=unconfined'], ['personality-noaslr']), ['ok']);
});

test('a system call on the x32 ABI kills the process under the default filter (foreign ABIs are refused)', async () => {
  const confined = await devbox(['run', '--rm', IMAGE, '/probe', 'x32-getpid']);
  assert.is(confined.exitCode, 128 + 31, confined.stdout + confined.stderr); // SIGSYS
  const unconfined = await devboxOk(['run', '--rm', '--security-opt', 'seccomp=unconfined', IMAGE, '/probe', 'x32-getpid']);
  assert.match(unconfined.stdout, /^(ok|ENOSYS)\n$/); // whatever this kernel does with x32 itself
});

test("a profile file in Docker's format decides: its default action, its rules, their errno", async () => {
  const dir = await testDir('seccomp');
  const profile = join(dir, 'profile.json');
  writeFileSync(
    profile,
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64'],
      syscalls: [{ names: ['keyctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
    }),
  );
  assert.equal(await probe(['--security-opt', `seccomp=${profile}`], ['keyctl', 'unshare-user']), ['EACCES', 'ok']);
});

test('a profile with a bad action is one line at its file:line:col, status 125, and no container is created', async () => {
  const dir = await testDir('seccomp');
  const profile = join(dir, 'bad.json');
  writeFileSync(profile, '{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "syscalls": [\n    { "names": ["keyctl"], "action": "SCMP_ACT_DENY" }\n  ]\n}\n');
  const before = containers();
  const r = await devbox(['run', '--rm', '--security-opt', `seccomp=${profile}`, IMAGE, 'true']);
  assert.is(r.exitCode, 125);
  assert.is(
    r.stderr,
    `devbox: ${profile}:4:38: "syscalls[0].action" unknown action "SCMP_ACT_DENY" (expected one of SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, ` +
      "SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_TRACE, SCMP_ACT_LOG) (a profile is in Docker's format: see docs/security.md)\n",
  );
  assert.equal(containers(), before);
});

test('--cap-drop removes a capability from the bounding and effective sets; --cap-add adds one, and the filter follows', async () => {
  const defaults = await capabilities([]);
  assert.is(defaults.bounding, defaults.effective);
  assert.ok(defaults.effective & CAP_CHOWN);
  assert.not.ok(defaults.effective & (CAP_NET_ADMIN | CAP_SYS_ADMIN));
  assert.equal(await capabilities(['--cap-drop', 'chown']), { effective: defaults.effective & ~CAP_CHOWN, bounding: defaults.effective & ~CAP_CHOWN });
  assert.equal(await capabilities(['--cap-add', 'CAP_NET_ADMIN']), {
    effective: defaults.effective | CAP_NET_ADMIN,
    bounding: defaults.effective | CAP_NET_ADMIN,
  });
  assert.equal(await capabilities(['--cap-drop', 'ALL', '--cap-add', 'chown']), { effective: CAP_CHOWN, bounding: CAP_CHOWN });
  // A user other than root has the bounding set but no capabilities, as in Docker.
  assert.equal(await capabilities(['--cap-add', 'NET_ADMIN'], 'alice'), { effective: 0n, bounding: defaults.effective | CAP_NET_ADMIN });
  // CAP_SYS_ADMIN makes mounts and namespaces legitimate: the filter lets them through then.
  assert.equal(await probe(['--cap-add', 'SYS_ADMIN'], ['unshare-mount', 'keyctl']), ['ok', 'EPERM']);
});

test('an unknown capability or security option is one line, status 125, before any container exists', async () => {
  const before = containers();
  const cap = await devbox(['run', '--rm', '--cap-add', 'NET_WIZARD', IMAGE, 'true']);
  assert.is(cap.exitCode, 125);
  assert.is(
    cap.stderr,
    'devbox: --cap-add: unknown capability "NET_WIZARD" (use a name from capabilities(7), with or without CAP_ (e.g. NET_ADMIN), or ALL)\n',
  );
  const opt = await devbox(['run', '--rm', '--security-opt', 'seccomp-profile=x', IMAGE, 'true']);
  assert.is(opt.exitCode, 125);
  assert.match(opt.stderr, /^devbox: --security-opt: unknown option "seccomp-profile" \(devbox takes seccomp=/);
  assert.is(opt.stderr.split('\n').length, 2);
  assert.equal(containers(), before);
});

test('the helper refuses a seccomp program it cannot compile, in one line, before any namespace exists', () => {
  const run = (program: string) =>
    spawnSync(helperPath(), [...idMapArgs(mapping), '--rootfs', '/', '--seccomp', program, '--', '/bin/true'], { encoding: 'utf8' });
  const cases: [string, string][] = [
    ['allow read', '--seccomp: the program must start with "default ACTION"'],
    ['default deny', '--seccomp line 1: unknown action "deny"'],
    ['default errno:1\narch pdp11', '--seccomp line 2: unknown architecture "pdp11"'],
    ['default errno:1\nallow read 6:eq:1', '--seccomp line 2: argument index: not a number from 0 to 5: "6"'],
    ['default errno:1\nallow read 0:like:1', '--seccomp line 2: unknown comparison "like"'],
    ['default errno:1\nerrno:5000 read', '--seccomp line 2: errno: not a number from 0 to 4095: "5000"'],
  ];
  for (const [program, message] of cases) {
    const r = run(program);
    assert.is(r.status, 125, program);
    assert.is(r.stderr, `devbox-helper: ${message}\n`);
  }
});

test("the helper keeps each program's compiled filter in --seccomp-cache, under the program's SHA-256, and loads it only for that program", async () => {
  const dir = await testDir('seccomp-cache');
  const rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs);
  writeFileSync(join(dir, 'rootfs.tar'), await packTar(busyboxRootfs()));
  spawnSync('tar', ['-xf', join(dir, 'rootfs.tar'), '-C', rootfs]);
  chmodSync(rootfs, 0o777); // the sandbox's root is a subordinate id, not the owner of the directory
  const target = join(rootfs, 'made');
  const cache = join(dir, 'cache'); // missing: the helper makes it
  const run = (program: string) =>
    spawnSync(helperPath(), [...idMapArgs(mapping), '--rootfs', rootfs, '--seccomp', program, '--seccomp-cache', cache, '--', '/bin/mkdir', '/made'], {
      encoding: 'utf8',
    });
  const fileOf = (program: string) => join(cache, `${createHash('sha256').update(program).digest('hex')}.bpf`);
  const refuse = 'default allow\nerrno:1 mkdir,mkdirat';
  const allow = 'default allow\nerrno:1 keyctl';
  const refused = run(refuse);
  assert.is(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /Operation not permitted/);
  assert.ok(run(allow).status === 0 && existsSync(target));
  rmSync(target, { recursive: true });
  assert.equal(readdirSync(cache).sort(), [fileOf(refuse), fileOf(allow)].map((f) => f.slice(cache.length + 1)).sort());
  // A 24-byte header (its last field the filter's length in instructions), the program, the filter: with the
  // other program's filter behind this program, what runs shows that the cache was loaded.
  const refuseFile = readFileSync(fileOf(refuse));
  const allowFile = readFileSync(fileOf(allow));
  const allowFilter = allowFile.subarray(24 + Buffer.byteLength(allow));
  const swapped = Buffer.concat([refuseFile.subarray(0, 24 + Buffer.byteLength(refuse)), allowFilter]);
  swapped.writeUInt32LE(allowFilter.length / 8, 20);
  writeFileSync(fileOf(refuse), swapped);
  assert.is(run(refuse).status, 0, 'the cached filter was loaded');
  rmSync(target, { recursive: true });
  // Another program's file under this program's name is compiled over, never loaded.
  writeFileSync(fileOf(refuse), allowFile);
  const other = run(refuse);
  assert.is(other.status, 1, 'a file of another program is not loaded');
  assert.equal(readFileSync(fileOf(refuse)), refuseFile);
  const lone = spawnSync(helperPath(), [...idMapArgs(mapping), '--rootfs', '/', '--seccomp-cache', join(dir, 'x'), '--', '/bin/true'], { encoding: 'utf8' });
  assert.is(lone.status, 125);
  assert.is(lone.stderr, "devbox-helper: --seccomp-cache goes with --seccomp: it keeps that program's compiled filter\n");
});

test('devbox run keeps the compiled default filter in the store and is confined by it on the next run', async () => {
  const cache = join(process.env.XDG_DATA_HOME!, 'devbox', 'seccomp');
  rmSync(cache, { recursive: true, force: true });
  assert.equal(await probe([], ['keyctl']), ['EPERM']);
  const files = readdirSync(cache);
  assert.is(files.length, 1);
  assert.equal(await probe([], ['keyctl', 'getpid']), ['EPERM', 'ok']);
  assert.equal(readdirSync(cache), files);
});

test('masked paths read empty, read-only paths refuse writes; unmask and systempaths=unconfined undo them', async () => {
  const script = 'wc -c < /proc/keys; ls /sys/firmware | wc -l; grep -c " /proc/sys proc ro," /proc/mounts; stat -c %F /proc/keys';
  const masked = (await devboxOk(['run', '--rm', IMAGE, 'sh', '-c', script])).stdout.trim().split('\n');
  assert.equal(masked, ['0', '0', '1', 'character special file']);
  const unmasked = (await devboxOk(['run', '--rm', '--security-opt', 'unmask=/proc/keys:/sys/firmware', IMAGE, 'sh', '-c', script])).stdout.trim().split('\n');
  assert.is(unmasked[3], 'regular empty file'); // procfs reports its files as empty: what matters is that it is no device
  assert.ok(Number(unmasked[1]) > 0, 'the host has firmware entries in /sys/firmware');
  assert.is(unmasked[2], '1'); // /proc/sys was not named: still read-only
  const open = (await devboxOk(['run', '--rm', '--security-opt', 'systempaths=unconfined', IMAGE, 'sh', '-c', script])).stdout.trim().split('\n');
  assert.is(open[2], '0');
  assert.is(open[3], 'regular empty file');
});

test('--privileged: every capability, no filter, nothing masked', async () => {
  const r = await devboxOk(['run', '--rm', '--privileged', IMAGE, 'sh', '-c', 'grep -E "^(CapEff|Seccomp):" /proc/self/status; stat -c %F /proc/keys']);
  const [eff, seccomp, keys] = r.stdout.trim().split('\n');
  assert.ok(BigInt(`0x${eff.split(':')[1].trim()}`) & CAP_SYS_ADMIN);
  assert.is(seccomp, 'Seccomp:\t0');
  assert.is(keys, 'regular empty file');
});

test('a build step runs under the same default filter and masks as a run', async () => {
  const context = await testDir('context');
  writeFileSync(join(context, 'Dockerfile'), `FROM ${IMAGE}\nRUN /probe keyctl > /keyctl && wc -c < /proc/keys > /keys\n`);
  await devboxOk(['build', '-q', '-t', 'probe-built', context]);
  const r = await devboxOk(['run', '--rm', 'probe-built', 'cat', '/keyctl', '/keys']);
  assert.is(r.stdout, 'EPERM\n0\n');
});

test("processes joining a project's sandbox are confined as the sandbox is; its pid 1 keeps only the sandbox's capabilities", async () => {
  const root = await testDir('project');
  writeFileSync(join(root, 'devbox.json'), JSON.stringify({ image: IMAGE }));
  projects.push(root);
  const user = await devboxOk(['run', 'sh', '-c', '/probe keyctl; grep ^Seccomp: /proc/self/status; wc -c < /proc/keys'], { cwd: root });
  assert.is(user.stdout, 'EPERM\nSeccomp:\t2\n0\n');
  const rootUser = await devboxOk(['run', '-u', 'root', 'sh', '-c', 'grep ^CapEff: /proc/self/status; grep ^CapEff: /proc/1/status'], { cwd: root });
  const [own, pid1] = rootUser.stdout.trim().split('\n');
  assert.is(own, pid1);
  assert.is(BigInt(`0x${own.split(':')[1].trim()}`), (await capabilities([])).effective);
});

test('a container keeps the confinement it was created with: its command, devbox exec, and the command after a restart', async () => {
  const name = `confined-${process.pid}`;
  named.push(name);
  // The command records its own sets, then waits; exec reads them and its own.
  const script = 'grep -E "^(CapEff|CapBnd|Seccomp):" /proc/self/status > /tmp/command; exec sleep 600';
  await devboxOk(['create', '--name', name, '--cap-drop', 'CHOWN', '--cap-add', 'NET_ADMIN', IMAGE, 'sh', '-c', script]);
  const expected = (await capabilities(['--cap-drop', 'CHOWN', '--cap-add', 'NET_ADMIN'])).effective.toString(16).padStart(16, '0');
  const sets = `CapEff:\t${expected}\nCapBnd:\t${expected}\nSeccomp:\t2\n`;
  const command = async () => {
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      const r = await devbox(['exec', name, 'cat', '/tmp/command']);
      if (r.exitCode === 0 && r.stdout) return r.stdout;
    }
    throw new Error('the command never wrote /tmp/command');
  };
  await devboxOk(['start', name]);
  assert.is(await command(), sets);
  const exec = await devboxOk(['exec', name, 'sh', '-c', 'grep -E "^(CapEff|CapBnd|Seccomp):" /proc/self/status; /probe keyctl; grep ^CapEff: /proc/1/status']);
  assert.is(exec.stdout, `${sets}EPERM\nCapEff:\t${expected}\n`);
  await devboxOk(['exec', name, 'rm', '/tmp/command']);
  await devboxOk(['restart', '-t', '0', name]);
  assert.is(await command(), sets);
});

test.run();
