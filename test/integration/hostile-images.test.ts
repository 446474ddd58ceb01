/**
 * Hostile images (part of the hostile-input suite, with sandbox-isolation.test.ts): every file devbox reads
 * from an image's layers is resolved inside the image, so an image whose /etc or /usr is a symlink to a host
 * folder makes devbox read nothing of the host's.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { busyboxRootfs, importBusybox, packTar, testDir, writeTar, type TarEntry } from '../helpers/images.js';
import { checkStore } from '../helpers/store-check.js';

const BUSYBOX = 'busybox:latest';
const storeRoot = () => join(process.env.XDG_DATA_HOME!, 'devbox');
const projects: string[] = [];
/**
 * A host folder laid out like /etc, with a user and a group only the host has. The image has a folder at the
 * same path with its own files, so the sandbox finds its /etc and devbox reading the host's shows. Not under
 * /tmp, which is a tmpfs in the sandbox.
 */
let hostEtc: string;

/** The busybox root file system with /etc replaced by `etc` (entries under it, or a symlink). */
function withEtc(etc: TarEntry[]): TarEntry[] {
  return [...busyboxRootfs().filter((e) => e.name !== 'etc' && !e.name.startsWith('etc/')), ...etc];
}

async function importImage(name: string, entries: TarEntry[]): Promise<string> {
  const tar = join(await testDir('hostile-image'), 'rootfs.tar');
  await writeTar(tar, entries);
  await devboxOk(['image', 'import', tar, name]);
  return name;
}

async function project(image: string, files: Record<string, string> = {}): Promise<string> {
  const root = await testDir('hostile-project');
  writeFileSync(join(root, 'devbox.json'), JSON.stringify({ image }));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(root, name), content);
  projects.push(root);
  return root;
}

function assertOneLine(r: { exitCode: number; stderr: string }, status: number, message: RegExp): void {
  assert.is(r.exitCode, status, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, message);
}

test.before(async () => {
  await importBusybox(BUSYBOX);
  hostEtc = mkdtempSync('/var/tmp/devbox-test-etc-');
  writeFileSync(join(hostEtc, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nhostonly:x:4242:4242::/hostonly:/bin/sh\n');
  writeFileSync(join(hostEtc, 'group'), 'root:x:0:\nhostgroup:x:4343:\n');
  const inImage = hostEtc.slice(1).split('/');
  // /etc a link to the host folder's path; /usr a link to the host's /usr, which has bin/bash.
  await importImage('etc-to-host:1', [
    ...withEtc([{ name: 'etc', type: 'symlink', linkname: hostEtc }]),
    ...inImage.map((_, i): TarEntry => ({ name: inImage.slice(0, i + 1).join('/'), type: 'directory' })),
    ...busyboxRootfs()
      .filter((e) => e.name.startsWith('etc/'))
      .map((e) => ({ ...e, name: `${hostEtc.slice(1)}/${e.name.slice(4)}` })),
    { name: 'usr', type: 'symlink', linkname: '/usr' },
  ]);
});

test.after(async () => {
  for (const root of projects) await devbox(['stop'], { cwd: root });
  rmSync(hostEtc, { recursive: true, force: true });
});

test('run -u NAME and -u UID:GROUP resolve against the image, not the host folder its /etc links to', async () => {
  assertOneLine(await devbox(['run', '--rm', '-u', 'hostonly', 'etc-to-host:1', 'true']), 125, /unable to find user hostonly/);
  assertOneLine(await devbox(['run', '--rm', '-u', '0:hostgroup', 'etc-to-host:1', 'true']), 125, /unable to find group hostgroup/);
});

test("a project sandbox's /etc/passwd has nothing of the host folder, and its shell is not found through the host's /usr", async () => {
  const root = await project('etc-to-host:1');
  const r = await devboxOk(['run', 'sh', '-c', 'cat /etc/passwd; echo "shell=$SHELL"'], { cwd: root });
  assert.not.match(r.stdout, 'hostonly');
  assert.match(r.stdout, /^shell=\/bin\/sh$/m);
});

test('a build resolves USER and --chown against the image, not the host folder its /etc links to', async () => {
  for (const [instructions, message] of [
    ['USER hostonly\nRUN true\n', /unable to find user hostonly/],
    ['COPY --chown=hostonly f /f\n', /unable to find user "hostonly"/],
    ['COPY --chown=0:hostgroup f /f\n', /unable to find group "hostgroup"/],
  ] as const) {
    const context = await testDir('hostile-context');
    writeFileSync(join(context, 'Dockerfile'), `FROM etc-to-host:1\n${instructions}`);
    writeFileSync(join(context, 'f'), 'f\n');
    const r = await devbox(['build', '-q', '-t', 'hostile-build:1', context]);
    assert.is(r.exitCode, 1, r.stderr);
    assert.match(r.stderr, message);
  }
});

test('links inside the image are followed inside it: /etc → /alt/etc, and a relative link that climbs past the root', async () => {
  const alt: TarEntry[] = [
    { name: 'alt', type: 'directory' },
    { name: 'alt/etc', type: 'directory' },
    { name: 'alt/etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\naltuser:x:4444:4444::/:/bin/sh\n' },
    { name: 'alt/etc/group', content: 'root:x:0:\naltgroup:x:4545:\n' },
  ];
  for (const [name, link] of [
    ['etc-absolute:1', '/alt/etc'],
    ['etc-relative:1', '../../../alt/etc'],
  ]) {
    await importImage(name, withEtc([...alt, { name: 'etc', type: 'symlink', linkname: link }]));
    const r = await devboxOk(['run', '--rm', '-u', 'altuser:altgroup', name, 'sh', '-c', 'echo $(id -u):$(id -g)']);
    assert.is(r.stdout, '4444:4545\n', name);
  }
});

/** Hostile tars imported for real, as root of the user namespace, beside the cases of image-unpack.test.ts. */
const hostileTars: [string, (victim: string) => TarEntry[], RegExp][] = [
  ['a whiteout that climbs out of the layer', () => [{ name: '../../.wh.keep', content: '' }], /entry "..\/..\/.wh.keep" escapes the layer directory/],
  [
    'a hard link to an absolute host path',
    (victim) => [{ name: 'h', type: 'link', linkname: `${victim}/keep` }],
    /hard link "h" points at .*which is not in the layer/,
  ],
  [
    'an opaque marker below a symlink to the host',
    (victim) => [{ name: 'l', type: 'symlink', linkname: victim }, { name: 'l/.wh..wh..opq' }],
    /passes through the symlink "l"/,
  ],
];

for (const [what, entries, message] of hostileTars) {
  test(`import refuses ${what}: one line, the host folder untouched, the store unchanged`, async () => {
    const dir = await testDir('hostile-tar');
    const victim = join(dir, 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'keep'), 'keep');
    const tar = join(dir, 'hostile.tar');
    await writeTar(tar, [...busyboxRootfs(), ...entries(victim)]);
    const before = checkStore(storeRoot());
    const r = await devbox(['image', 'import', tar, 'hostile-tar:1']);
    assertOneLine(r, 1, message);
    assert.equal(readdirSync(victim), ['keep']);
    assert.equal(checkStore(storeRoot()), before);
    assert.is((await devbox(['image', 'inspect', 'hostile-tar:1'])).exitCode, 1);
  });
}

test('an entry with an absolute path or trailing garbage: the path lands inside the layer, garbage is refused', async () => {
  const dir = await testDir('hostile-tar');
  const tar = join(dir, 'absolute.tar');
  // Not under /tmp, which is a tmpfs in the sandbox.
  const absolute = `/var/tmp/devbox-test-absolute-${process.pid}-${Date.now()}/written`;
  await writeTar(tar, [...busyboxRootfs(), { name: absolute, content: 'inside\n' }]);
  await devboxOk(['image', 'import', tar, 'absolute:1']);
  assert.not.ok(existsSync(absolute), 'an absolute entry was written on the host');
  assert.is((await devboxOk(['run', '--rm', 'absolute:1', 'cat', absolute])).stdout, 'inside\n');
  const garbage = join(dir, 'garbage.tar');
  writeFileSync(garbage, Buffer.concat([await packTar(busyboxRootfs()), Buffer.from('trailing garbage, not a tar header\n'.repeat(40))]));
  assertOneLine(await devbox(['image', 'import', garbage, 'garbage:1']), 1, /garbage\.tar: not a tar archive/);
});

test('a build context with symlinks that escape it: nothing of the host is copied', async () => {
  const outside = await testDir('outside-context');
  writeFileSync(join(outside, 'host-secret'), 'host secret\n');
  const context = await testDir('escaping-context');
  symlinkSync(outside, join(context, 'absolute-link'));
  symlinkSync(`../${outside.split('/').pop()}`, join(context, 'relative-link'));
  symlinkSync(join(outside, 'host-secret'), join(context, 'file-link'));
  writeFileSync(join(context, 'Dockerfile'), `FROM ${BUSYBOX}\nCOPY . /ctx/\n`);
  await devboxOk(['build', '-q', '-t', 'escaping:1', context]);
  // The links are copied as links; what they point at on the host is not in the image.
  const r = await devboxOk(['run', '--rm', 'escaping:1', 'sh', '-c', 'ls -la /ctx; cat /ctx/file-link /ctx/absolute-link/host-secret 2>&1; true']);
  assert.not.match(r.stdout, 'host secret');
  for (const source of ['absolute-link/host-secret', 'relative-link/host-secret', 'file-link']) {
    writeFileSync(join(context, 'Dockerfile'), `FROM ${BUSYBOX}\nCOPY ${source} /copied\n`);
    const copy = await devbox(['build', '-q', '-t', 'escaping:2', context]);
    if (copy.exitCode === 0) assert.not.match((await devboxOk(['run', '--rm', 'escaping:2', 'cat', '/copied'])).stdout, 'host secret', source);
    else assertOneLine(copy, 1, /Dockerfile:2: COPY/);
  }
});

test.run();
