/**
 * Layers unpacked for real, as root of the user namespace: ownership lands where the id map puts each id, modes,
 * xattrs, FIFOs and holes survive, whiteouts become overlay whiteouts, and a hostile layer writes nothing
 * outside its directory.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { hostIdFor } from '../../src/userns/idmap.js';
import { createImageSuite, dockerArchive, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, packTar, writeTar, type TarEntry } from '../helpers/images.js';

let suite: ImageSuite;
/** Unpacked layer of the image imported in `before`. */
let layer: string;

const SPARSE_SIZE = 16 * 1024 * 1024;

function getxattr(path: string, name: string): string {
  return execFileSync('python3', ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())', path, name], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/** Fixtures, made before the first test (a failing `before` hook's error would be lost in uvu). */
const fixtures = once(async () => {
  suite = await createImageSuite('image-unpack');
  const dir = await suite.tempDir('import');
  const tar = join(dir, 'rootfs.tar');
  const sparse = Buffer.alloc(SPARSE_SIZE);
  sparse.write('head', 0);
  sparse.write('tail', sparse.length - 4);
  await writeTar(tar, [
    ...busyboxRootfs(),
    { name: 'home/alice/mine', content: 'a', uid: 1000, gid: 1000 },
    { name: 'bin/suid', content: 'x', mode: 0o4755 },
    { name: 'bin/sgid', content: 'x', mode: 0o2755, gid: 10 },
    { name: 'shared', type: 'directory', mode: 0o1777 },
    { name: 'sparse', content: sparse },
    { name: 'noted', content: 'n', pax: { 'SCHILY.xattr.user.note': 'kept', 'SCHILY.xattr.user.overlay.opaque': 'y' } },
    { name: 'pipe', type: 'fifo', mode: 0o620 },
    { name: 'dev/null', type: 'character-device' },
  ]);
  await suite.devboxOk(['image', 'import', tar, 'owned:1']);
  layer = suite.layerPath((await suite.inspect('owned:1')).RootFS.Layers[0]);
});

test.before.each(fixtures);

test.after(async () => {
  await suite?.cleanup();
});

test('a file owned by uid 0 in the tar is owned by the caller on the host (a container’s default map: root is you)', () => {
  const root = hostIdFor(suite.mapping.uidMap, 0);
  assert.is(statSync(join(layer, 'etc/passwd')).uid, root);
  assert.is(statSync(join(layer, 'etc/passwd')).gid, hostIdFor(suite.mapping.gidMap, 0));
  assert.equal([root, hostIdFor(suite.mapping.gidMap, 0)], [process.getuid!(), process.getgid!()]);
});

test('a file owned by uid 1000 in the tar lands on the id the map gives 1000', () => {
  const st = statSync(join(layer, 'home/alice/mine'));
  assert.is(st.uid, suite.mapping.full ? hostIdFor(suite.mapping.uidMap, 1000) : process.getuid!());
  assert.is(st.gid, suite.mapping.full ? hostIdFor(suite.mapping.gidMap, 1000) : process.getgid!());
});

test('setuid, setgid and sticky bits survive unpacking', () => {
  assert.is(statSync(join(layer, 'bin/suid')).mode & 0o7777, 0o4755);
  assert.is(statSync(join(layer, 'bin/sgid')).mode & 0o7777, 0o2755);
  assert.is(statSync(join(layer, 'shared')).mode & 0o7777, 0o1777);
});

test('a sparse file stays sparse (st_blocks far below its size)', () => {
  const st = statSync(join(layer, 'sparse'));
  assert.is(st.size, SPARSE_SIZE);
  assert.ok(st.blocks * 512 < 256 * 1024, `${st.blocks * 512} bytes allocated for a ${SPARSE_SIZE}-byte file of holes`);
  const data = readFileSync(join(layer, 'sparse'));
  assert.is(data.subarray(0, 4).toString(), 'head');
  assert.is(data.subarray(-4).toString(), 'tail');
});

test('a PAX xattr is set on the file and recorded; overlay xattrs from the tar are not', () => {
  assert.is(getxattr(join(layer, 'noted'), 'user.note'), 'kept');
  assert.throws(() => getxattr(join(layer, 'noted'), 'user.overlay.opaque'));
  const record = JSON.parse(readFileSync(`${layer}.json`, 'utf8'));
  assert.equal(record.xattrs, [{ path: 'noted', name: 'user.note', value: Buffer.from('kept').toString('hex') }]);
});

test('a FIFO is unpacked as a FIFO with its mode; a device node is skipped', () => {
  const st = lstatSync(join(layer, 'pipe'));
  assert.ok(st.isFIFO());
  assert.is(st.mode & 0o7777, 0o620);
  assert.not.ok(existsSync(join(layer, 'dev/null')));
});

test('inside a container the owners and modes read as they were in the tar', async () => {
  const r = await suite.devboxOk(['run', '--rm', 'owned:1', 'stat', '-c', '%u %g %a', '/home/alice/mine', '/bin/suid', '/etc/passwd']);
  assert.is(r.stdout, `${suite.mapping.full ? '1000 1000' : '0 0'} 644\n0 0 4755\n0 0 644\n`);
});

test('whiteouts and opaque dirs in an upper layer become 0/0 devices and user.overlay.opaque, and hide lower files in a container', async () => {
  const dir = await suite.tempDir('whiteout');
  const archive = join(dir, 'w.tar');
  const lower = await packTar([...busyboxRootfs(), { name: 'd', type: 'directory' }, { name: 'd/old', content: 'o' }, { name: 'gone', content: 'g' }]);
  const upper = await packTar([{ name: '.wh.gone' }, { name: 'd/.wh..wh..opq' }, { name: 'd/new', content: 'n' }]);
  writeFileSync(archive, await dockerArchive([{ layers: [lower, upper], names: ['wh:1'] }]));
  await suite.devboxOk(['image', 'load', '-i', archive]);
  const upperDir = suite.layerPath((await suite.inspect('wh:1')).RootFS.Layers[1]);
  const wh = lstatSync(join(upperDir, 'gone'));
  assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'not a 0/0 character device');
  assert.is(getxattr(join(upperDir, 'd'), 'user.overlay.opaque'), 'y');
  assert.not.ok(existsSync(join(upperDir, '.wh.gone')));
  assert.equal(JSON.parse(readFileSync(`${upperDir}.json`, 'utf8')).opaqueDirs, ['d']);
  const r = await suite.devboxOk(['run', '--rm', 'wh:1', 'sh', '-c', 'ls /d; test -e /gone && echo still there || echo hidden']);
  assert.is(r.stdout, 'new\nhidden\n');
});

test('a layer shared by two images is unpacked once', async () => {
  const dir = await suite.tempDir('shared');
  const base = await packTar(busyboxRootfs());
  for (const [i, extra] of ['one', 'two'].entries()) {
    const archive = join(dir, `${extra}.tar`);
    writeFileSync(archive, await dockerArchive([{ layers: [base, await packTar([{ name: extra, content: extra }])], names: [`shared:${i}`] }]));
    await suite.devboxOk(['image', 'load', '-i', archive]);
  }
  const [a, b] = [await suite.inspect('shared:0'), await suite.inspect('shared:1')];
  assert.is(a.RootFS.Layers[0], b.RootFS.Layers[0]);
  const layersDir = join(suite.layerPath(a.RootFS.Layers[0]), '..');
  assert.is(readdirSync(layersDir).filter((n) => n === a.RootFS.Layers[0].slice(7)).length, 1);
});

/** Hostile layers, imported for real as namespace root; `victim` is a directory of the caller's. */
const hostileLayers: [string, (victim: string) => TarEntry[], RegExp][] = [
  ['an entry that climbs out', () => [{ name: '../../../escaped', content: 'x' }], /entry "..\/..\/..\/escaped" escapes the layer directory/],
  [
    'a write through a symlink to a host directory',
    (victim) => [
      { name: 'link', type: 'symlink', linkname: victim },
      { name: 'link/escaped', content: 'x' },
    ],
    /passes through the symlink "link"/,
  ],
  ['a hard link to a host file', () => [{ name: 'h', type: 'link', linkname: '../../../../etc/passwd' }], /escapes the layer directory/],
  ['a whiteout through a symlink', (victim) => [{ name: 'l', type: 'symlink', linkname: victim }, { name: 'l/.wh.keep' }], /passes through the symlink "l"/],
  [
    'a file owned by an id the user namespace does not map',
    () => [{ name: 'far', content: 'x', uid: 200_000 }],
    /entry "far" is owned by 200000:0, which the user namespace does not map/,
  ],
];

for (const [what, entries, message] of hostileLayers) {
  test(`import refuses ${what}: one line naming the file, nothing outside touched, the store unchanged`, async () => {
    if (what.includes('does not map') && !suite.mapping.full) return; // a single-id map squashes ownership
    const dir = await suite.tempDir('hostile');
    const victim = join(dir, 'victim');
    mkdirSync(victim, { mode: 0o700 });
    writeFileSync(join(victim, 'keep'), 'keep');
    const tar = join(dir, 'hostile.tar');
    await writeTar(tar, entries(victim));
    const before = suite.snapshot();
    const r = await suite.devbox(['image', 'import', tar, 'hostile:1']);
    assert.is(r.exitCode, 1);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^devbox: .*hostile\.tar: /);
    assert.match(r.stderr, message);
    assert.is(suite.snapshot(), before);
    assert.equal(readdirSync(victim), ['keep']);
    assert.is(statSync(victim).mode & 0o7777, 0o700);
  });
}

test('a directory replaced by a symlink in the same layer does not pass its mode to the target (CVE-2021-32760)', async () => {
  const dir = await suite.tempDir('chmod');
  const victim = join(dir, 'victim');
  mkdirSync(victim, { mode: 0o700 });
  const tar = join(dir, 'chmod.tar');
  await writeTar(tar, [
    { name: 'd', type: 'directory', mode: 0o777 },
    { name: 'd', type: 'symlink', linkname: victim },
  ]);
  await suite.devboxOk(['image', 'import', tar, 'chmod:1']);
  assert.is(statSync(victim).mode & 0o7777, 0o700);
  assert.is(statSync(victim).uid, process.getuid!());
});

test.run();
