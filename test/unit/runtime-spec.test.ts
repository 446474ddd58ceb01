import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { commandLineProblem, helperArgs, joinArgs, keepAliveArgs, type SandboxSpec } from '../../src/runtime/spec.js';

const base = (): SandboxSpec => ({
  idMapping: { uidMap: [{ inside: 0, outside: 100000, count: 10 }], gidMap: [{ inside: 0, outside: 200000, count: 10 }], uid: 0, gid: 0, full: true },
  rootfs: { kind: 'overlay', lowerDirs: ['/s/l/base', '/s/l/top'], upperDir: '/c/upper', workDir: '/c/work', mountpoint: '/c/merged' },
  mounts: [{ source: '/home/a/src', destination: '/src', readonly: true }],
  hostname: 'box',
  network: 'host',
  process: { args: ['sh', '-c', 'echo hi'], env: ['PATH=/bin', 'EMPTY=', 'X=a=b'], cwd: '/src', uid: 1000, gid: 1000, groups: [10, 20], terminal: true },
  removeAfterExit: '/c',
  security: { capabilities: ['CAP_CHOWN', 'CAP_KILL'], seccomp: 'default errno:38\nallow read', maskedPaths: ['/proc/kcore'], readonlyPaths: ['/proc/sys'] },
});

test('the helper gets maps, overlay lowers topmost first, binds, masks after them, identity, env, tty, capabilities, the filter and the command last', () => {
  assert.equal(helperArgs(base()), [
    '--uid-map',
    '0:100000:10',
    '--gid-map',
    '0:200000:10',
    '--overlay',
    '/s/l/top:/s/l/base',
    '/c/upper',
    '/c/work',
    '--mountpoint',
    '/c/merged',
    '--ro-bind',
    '/home/a/src',
    '/src',
    '--masked-path',
    '/proc/kcore',
    '--readonly-path',
    '/proc/sys',
    '--hostname',
    'box',
    '--chdir',
    '/src',
    '--uid',
    '1000',
    '--gid',
    '1000',
    '--groups',
    '10,20',
    '--setenv',
    'PATH',
    '/bin',
    '--setenv',
    'EMPTY',
    '',
    '--setenv',
    'X',
    'a=b',
    '--tty',
    '--caps',
    '0,5',
    '--seccomp',
    'default errno:38\nallow read',
    '--remove-after',
    '/c',
    '--',
    'sh',
    '-c',
    'echo hi',
  ]);
});

test('network none unshares the network; fuse and directory roots', () => {
  const spec = base();
  spec.network = 'none';
  spec.rootfs = { kind: 'fuse-overlay', program: '/usr/bin/fuse-overlayfs', lowerDirs: ['/l'], upperDir: '/u', workDir: '/w', mountpoint: '/m' };
  const args = helperArgs(spec);
  assert.ok(args.includes('--unshare-net'));
  assert.equal(args.slice(args.indexOf('--fuse-overlay'), args.indexOf('--fuse-overlay') + 7), [
    '--fuse-overlay',
    '/usr/bin/fuse-overlayfs',
    '/l',
    '/u',
    '/w',
    '--mountpoint',
    '/m',
  ]);
  spec.rootfs = { kind: 'directory', dir: '/c/rootfs' };
  assert.equal(helperArgs(spec).slice(5, 7), ['--rootfs', '/c/rootfs']);
});

test('slirp4netns: a network namespace of its own, and the sync descriptor the caller attaches it through', () => {
  const spec = base();
  spec.network = 'slirp4netns';
  const args = helperArgs(spec, 3);
  assert.equal(args.slice(4, 7), ['--unshare-net', '--sync-fd', '3']);
  assert.not.ok(helperArgs(base()).includes('--sync-fd'));
});

test("a build step keeps the image's /tmp: --image-tmp", () => {
  const spec = base();
  assert.not.ok(helperArgs(spec).includes('--image-tmp'));
  spec.imageTmp = true;
  const args = helperArgs(spec);
  assert.ok(args.indexOf('--image-tmp') < args.indexOf('--'));
});

test('a layer path with a colon cannot be smuggled into overlay options', () => {
  const spec = base();
  spec.rootfs = { kind: 'overlay', lowerDirs: ['/a:b'], upperDir: '/u', workDir: '/w', mountpoint: '/m' };
  assert.throws(() => helperArgs(spec), /contains ':' or ','/);
});

test('a command Linux would refuse to start (E2BIG) is one clear error before anything starts', () => {
  const spec = (args: string[], env: string[] = []) => ({ ...base(), process: { ...base().process, args, env } });
  assert.throws(() => helperArgs(spec(['sh', '-c', 'x'.repeat(200_000)])), /an argument of the command is 196 KiB, more than Linux takes in one \(128 KiB\)/);
  assert.throws(() => helperArgs(spec(['true'], [`BIG=${'x'.repeat(131_072)}`])), /the environment variable BIG is \d+ KiB, more than Linux takes in one/);
  assert.throws(
    () => joinArgs(1, spec(['echo', ...Array(30).fill('x'.repeat(100_000))]).process, base().security),
    /the command and its environment take \d+ KiB/,
  );
  assert.is(commandLineProblem({ args: ['sh', '-c', 'x'.repeat(100_000)], env: ['A=1'] }), undefined);
});

test('a live sandbox is the same sandbox with --keep-alive instead of a process; a join carries the capabilities and the filter', () => {
  const { process: p, removeAfterExit, ...live } = base();
  assert.equal(keepAliveArgs(live), [
    '--uid-map',
    '0:100000:10',
    '--gid-map',
    '0:200000:10',
    '--overlay',
    '/s/l/top:/s/l/base',
    '/c/upper',
    '/c/work',
    '--mountpoint',
    '/c/merged',
    '--ro-bind',
    '/home/a/src',
    '/src',
    '--masked-path',
    '/proc/kcore',
    '--readonly-path',
    '/proc/sys',
    '--hostname',
    'box',
    '--caps',
    '0,5',
    '--keep-alive',
  ]);
  assert.equal(joinArgs(4242, p, live.security), [
    '--join',
    '4242',
    '--chdir',
    '/src',
    '--uid',
    '1000',
    '--gid',
    '1000',
    '--groups',
    '10,20',
    '--setenv',
    'PATH',
    '/bin',
    '--setenv',
    'EMPTY',
    '',
    '--setenv',
    'X',
    'a=b',
    '--tty',
    '--caps',
    '0,5',
    '--seccomp',
    'default errno:38\nallow read',
    '--',
    'sh',
    '-c',
    'echo hi',
  ]);
  // An exec into a container with a cgroup of its own joins it first.
  assert.equal(joinArgs(4242, p, live.security, '/sys/fs/cgroup/user/devbox-abc').slice(0, 4), [
    '--join',
    '4242',
    '--cgroup',
    '/sys/fs/cgroup/user/devbox-abc',
  ]);
  assert.ok(removeAfterExit);
});

test('binds and tmpfs mounts go parents first, whatever the order given; tmpfs options and bind propagation', () => {
  const spec = base();
  spec.mounts = [
    { source: '/v/sub', destination: '/data/sub', readonly: false },
    { source: '/h/src', destination: '/src', readonly: false, propagation: 'rprivate' },
  ];
  spec.tmpfs = [{ destination: '/data', options: ['nosuid', 'size=1m'] }];
  const args = helperArgs(spec);
  const mounts = args.slice(
    args.indexOf('/c/merged') + 1,
    args.findIndex((a) => a === '--masked-path' || a === '--readonly-path' || a === '--hostname'),
  );
  assert.equal(mounts, [
    '--bind',
    '/h/src',
    '/src',
    '--propagation',
    '/src',
    'rprivate',
    '--tmpfs',
    '/data',
    'nosuid,size=1m',
    '--bind',
    '/v/sub',
    '/data/sub',
  ]);
});

test.run();
