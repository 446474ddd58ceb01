/**
 * The layer extractor on hostile and tricky tars, in-process and without namespaces (ownership squashed,
 * helper operations recorded instead of run): whatever a tar says, nothing outside the layer changes.
 * Cases after containerd's TestBreakouts (pkg/archive/tar_test.go) and umoci's scoping tests.
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { extractLayer, type ExtractResult } from '../../src/image/extract.js';
import type { FsOp } from '../../src/runtime/fsops.js';
import { packTar, type TarEntry } from '../helpers/images.js';
import { rejectionOf } from '../helpers/errors.js';

let base: string;
let layer: string;
let outside: string;
let ops: FsOp[];

test.before.each(() => {
  base = mkdtempSync(join(tmpdir(), 'devbox-extract-'));
  layer = join(base, 'layer');
  outside = join(base, 'outside');
  mkdirSync(layer);
  mkdirSync(outside);
  chmodSync(outside, 0o750);
  writeFileSync(join(outside, 'victim'), 'untouched', { mode: 0o640 });
  ops = [];
});

test.after.each(() => {
  rmSync(base, { recursive: true, force: true });
});

async function extract(entries: TarEntry[] | Buffer): Promise<ExtractResult> {
  const tar = Buffer.isBuffer(entries) ? entries : await packTar(entries);
  return extractLayer(Readable.from([tar]), {
    root: layer,
    squashOwnership: true,
    applyFsOps: async (batch) => {
      ops.push(...batch);
      // Stand-in for the helper's mkfifo, which Node.js cannot do: the extractor then sets owner and times.
      for (const op of batch) if (op.op === 'fifo') writeFileSync(op.path, '', { flag: 'wx' });
    },
  });
}

/** The directory beside the layer, its file and their modes are exactly as the test made them. */
function outsideUntouched() {
  assert.equal(readdirSync(outside), ['victim']);
  assert.is(readFileSync(join(outside, 'victim'), 'utf8'), 'untouched');
  assert.is(statSync(outside).mode & 0o7777, 0o750, 'the mode of the outside directory changed');
  assert.is(statSync(join(outside, 'victim')).mode & 0o7777, 0o640, 'the mode of the outside file changed');
  assert.not.ok(
    ops.some((op) => !op.path.startsWith(`${layer}/`)),
    'a helper operation aimed outside the layer',
  );
}

const hostile: [string, () => TarEntry[], RegExp][] = [
  ['a name that climbs out ("../x")', () => [{ name: '../outside/pwned', content: 'x' }], /entry "..\/outside\/pwned" escapes the layer directory/],
  ['an absolute name that climbs out ("/../../x")', () => [{ name: '/../../outside/pwned', content: 'x' }], /escapes the layer directory/],
  ['a dot-prefixed name that climbs out ("./../x")', () => [{ name: './../outside/pwned', content: 'x' }], /escapes the layer directory/],
  [
    'a file written through a symlink to a host directory',
    () => [
      { name: 'evil', type: 'symlink', linkname: outside },
      { name: 'evil/pwned', content: 'x' },
    ],
    /entry "evil\/pwned" passes through the symlink "evil"/,
  ],
  [
    'a file written through a symlink to /',
    () => [
      { name: 'root', type: 'symlink', linkname: '/' },
      { name: `root${outside}/pwned`, content: 'x' },
    ],
    /passes through the symlink "root"/,
  ],
  [
    'a relative symlink that climbs out, then a write through it',
    () => [
      { name: 'up', type: 'symlink', linkname: '../outside' },
      { name: 'up/pwned', content: 'x' },
    ],
    /passes through the symlink "up"/,
  ],
  [
    'a directory entry through a symlink',
    () => [
      { name: 'up', type: 'symlink', linkname: '../outside' },
      { name: 'up/sub', type: 'directory', mode: 0o777 },
    ],
    /passes through the symlink "up"/,
  ],
  [
    'a symlink chain ending outside, then a write',
    () => [
      { name: 'a', type: 'symlink', linkname: 'b' },
      { name: 'b', type: 'symlink', linkname: outside },
      { name: 'a/pwned', content: 'x' },
    ],
    /passes through the symlink "a"/,
  ],
  [
    'a hard link to a file outside ("../outside")',
    () => [{ name: 'h', type: 'link', linkname: '../outside/victim' }],
    /hard link "h" points at "..\/outside\/victim", which escapes the layer directory/,
  ],
  [
    'a hard link through a symlink',
    () => [
      { name: 'l', type: 'symlink', linkname: outside },
      { name: 'h', type: 'link', linkname: 'l/victim' },
    ],
    /passes through the symlink "l"/,
  ],
  ['a hard link to a file the layer does not have', () => [{ name: 'h', type: 'link', linkname: 'nothing' }], /which is not in the layer/],
  [
    'a hard link to a directory',
    () => [
      { name: 'd', type: 'directory' },
      { name: 'h', type: 'link', linkname: 'd' },
    ],
    /points at a directory/,
  ],
  ['a whiteout through a symlink', () => [{ name: 'l', type: 'symlink', linkname: outside }, { name: 'l/.wh.victim' }], /passes through the symlink "l"/],
  ['a whiteout of the parent directory (".wh..." in the root)', () => [{ name: '.wh...' }], /names no file/],
  ['a whiteout of ".." in a subdirectory', () => [{ name: 'etc/.wh...' }], /names no file/],
  [
    'an opaque marker through a symlink',
    () => [{ name: 'l', type: 'symlink', linkname: outside }, { name: 'l/.wh..wh..opq' }],
    /passes through the symlink "l"/,
  ],
  [
    'a file below a regular file',
    () => [
      { name: 'f', content: 'x' },
      { name: 'f/g', content: 'y' },
    ],
    /passes through "f", which is not a directory/,
  ],
  [
    'a file below a FIFO',
    () => [
      { name: 'p', type: 'fifo' },
      { name: 'p/g', content: 'y' },
    ],
    /passes through "p", which is not a directory/,
  ],
  // A parent is checked once; these replace one that was checked, then write below it again.
  [
    'a directory replaced by a symlink, then a write below it',
    () => [
      { name: 'd', type: 'directory' },
      { name: 'd/a', content: 'x' },
      { name: 'd', type: 'symlink', linkname: outside },
      { name: 'd/pwned', content: 'x' },
    ],
    /passes through the symlink "d"/,
  ],
  [
    'a parent made for an entry, replaced by a symlink, then a deeper write',
    () => [
      { name: 'p/q/a', content: 'x' },
      { name: 'p', type: 'symlink', linkname: outside },
      { name: 'p/q/pwned', content: 'x' },
    ],
    /passes through the symlink "p"/,
  ],
  [
    'a directory whited out, a symlink in its place, then a write below it',
    () => [{ name: 'd/a', content: 'x' }, { name: '.wh.d' }, { name: 'd', type: 'symlink', linkname: outside }, { name: 'd/pwned', content: 'x' }],
    /passes through the symlink "d"/,
  ],
  [
    'a subdirectory replaced by a hard link to a symlink, then a write below it',
    () => [
      { name: 's', type: 'symlink', linkname: outside },
      { name: 'd/e/a', content: 'x' },
      { name: 'd/e', type: 'link', linkname: 's' },
      { name: 'd/e/pwned', content: 'x' },
    ],
    /passes through the symlink "d\/e"/,
  ],
];

for (const [what, entries, message] of hostile) {
  test(`refused: ${what}`, async () => {
    const error = await rejectionOf(() => extract(entries()), 'the layer');
    assert.match((error as Error).message, message);
    outsideUntouched();
  });
}

test('a directory replaced by a symlink in the same layer: its mode is not applied to the symlink target (CVE-2021-32760)', async () => {
  await extract([
    { name: 'd', type: 'directory', mode: 0o777 },
    { name: 'd/sub', type: 'directory', mode: 0o777 },
    { name: 'd', type: 'symlink', linkname: outside },
  ]);
  assert.is(readlinkSync(join(layer, 'd')), outside);
  outsideUntouched();
});

test('a hard link to a symlink links the symlink itself, and a later mode is not applied through it', async () => {
  await extract([
    { name: 's', type: 'symlink', linkname: join(outside, 'victim') },
    { name: 'h', type: 'link', linkname: 's' },
    { name: 'h', type: 'directory', mode: 0o777 },
  ]);
  assert.ok(lstatSync(join(layer, 's')).isSymbolicLink());
  assert.ok(lstatSync(join(layer, 'h')).isDirectory());
  outsideUntouched();
});

test('a later entry replaces a symlink instead of writing through it', async () => {
  await extract([
    { name: 'x', type: 'symlink', linkname: join(outside, 'victim') },
    { name: 'x', content: 'replaced' },
  ]);
  assert.ok(lstatSync(join(layer, 'x')).isFile());
  assert.is(readFileSync(join(layer, 'x'), 'utf8'), 'replaced');
  outsideUntouched();
});

test('a directory entry over a symlink replaces the symlink with a directory', async () => {
  await extract([
    { name: 'd', type: 'symlink', linkname: outside },
    { name: 'd', type: 'directory', mode: 0o700 },
  ]);
  assert.ok(lstatSync(join(layer, 'd')).isDirectory());
  assert.is(statSync(join(layer, 'd')).mode & 0o7777, 0o700);
  outsideUntouched();
});

test('a directory entry over an existing directory keeps its contents and takes the new mode', async () => {
  await extract([
    { name: 'd', type: 'directory', mode: 0o700 },
    { name: 'd/f', content: 'kept' },
    { name: 'd', type: 'directory', mode: 0o751 },
  ]);
  assert.is(readFileSync(join(layer, 'd/f'), 'utf8'), 'kept');
  assert.is(statSync(join(layer, 'd')).mode & 0o7777, 0o751);
});

test('a directory replaced by a file and made again gets its subdirectories made again', async () => {
  await extract([
    { name: 'a/b/old', content: '1' },
    { name: 'a', content: 'a file for a while' },
    { name: 'a', type: 'directory' },
    { name: 'a/b/new', content: '2' },
  ]);
  assert.equal(readdirSync(join(layer, 'a', 'b')), ['new']);
  assert.is(readFileSync(join(layer, 'a', 'b', 'new'), 'utf8'), '2');
});

test('a directory replaced by a file takes its pending children with it', async () => {
  await extract([
    { name: 'd', type: 'directory' },
    { name: 'd/e', type: 'directory', mode: 0o700 },
    { name: 'd/p', type: 'fifo' },
    { name: 'd', content: 'now a file' },
  ]);
  assert.is(readFileSync(join(layer, 'd'), 'utf8'), 'now a file');
  assert.equal(ops, []);
});

test('a later entry or a whiteout at the path of a FIFO replaces the FIFO', async () => {
  await extract([{ name: 'p', type: 'fifo' }, { name: 'p', content: 'file now' }, { name: 'q', type: 'fifo' }, { name: '.wh.q' }]);
  assert.is(readFileSync(join(layer, 'p'), 'utf8'), 'file now');
  assert.equal(
    ops.map((o) => [o.op, o.path.slice(layer.length)]),
    [['whiteout', '/q']],
  );
});

test('whiteouts and opaque markers become helper operations on paths inside the layer', async () => {
  const result = await extract([
    { name: 'etc/.wh.passwd' },
    { name: 'var/cache/.wh..wh..opq' },
    { name: 'var/cache/new', content: 'n' },
    { name: 'pipe', type: 'fifo', mode: 0o640 },
  ]);
  assert.equal(result.opaqueDirs, ['var/cache']);
  assert.equal(
    ops.map((o) => [o.op, o.path.slice(layer.length)]),
    [
      ['fifo', '/pipe'],
      ['whiteout', '/etc/passwd'],
      ['xattr', '/var/cache'],
    ],
  );
  assert.not.ok(existsSync(join(layer, 'etc/.wh.passwd')), 'the .wh. file itself must not be extracted');
  assert.is(readFileSync(join(layer, 'var/cache/new'), 'utf8'), 'n');
});

test('an opaque marker in the root is recorded for the root', async () => {
  const result = await extract([{ name: '.wh..wh..opq' }, { name: 'f', content: 'x' }]);
  assert.equal(result.opaqueDirs, ['']);
  assert.equal(
    ops.map((o) => [o.op, o.path]),
    [['xattr', layer]],
  );
});

test('a whiteout removes what the same layer extracted at that path earlier', async () => {
  await extract([{ name: 'd/f', content: 'x' }, { name: '.wh.d' }]);
  assert.not.ok(existsSync(join(layer, 'd')));
  assert.equal(
    ops.map((o) => [o.op, o.path.slice(layer.length)]),
    [['whiteout', '/d']],
  );
});

test('an entry after a whiteout of the same path wins, and the whiteout is dropped', async () => {
  await extract([{ name: '.wh.d' }, { name: 'd/x', content: 'x' }, { name: '.wh.f' }, { name: 'f', content: 'y' }]);
  assert.is(readFileSync(join(layer, 'd/x'), 'utf8'), 'x');
  assert.is(readFileSync(join(layer, 'f'), 'utf8'), 'y');
  assert.equal(ops, []);
});

test('modes (setuid, setgid, sticky too), symlinks and hard links survive', async () => {
  await extract([
    { name: 'bin', type: 'directory', mode: 0o711 },
    { name: 'bin/tool', content: '#!/bin/sh\n', mode: 0o4755 },
    { name: 'bin/group', content: 'g', mode: 0o2711 },
    { name: 'tmp', type: 'directory', mode: 0o1777 },
    { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
    { name: 'bin/same', type: 'link', linkname: 'bin/tool' },
  ]);
  assert.is(statSync(join(layer, 'bin/tool')).mode & 0o7777, 0o4755);
  assert.is(statSync(join(layer, 'bin/group')).mode & 0o7777, 0o2711);
  assert.is(statSync(join(layer, 'tmp')).mode & 0o7777, 0o1777);
  assert.is(statSync(join(layer, 'bin')).mode & 0o7777, 0o711);
  assert.is(readlinkSync(join(layer, 'bin/alias')), 'tool');
  assert.is(statSync(join(layer, 'bin/same')).ino, statSync(join(layer, 'bin/tool')).ino);
});

test("modification times are kept, directories' too (set after their contents)", async () => {
  await extract([
    { name: 'd', type: 'directory' },
    { name: 'd/f', content: 'x' },
    { name: 'd/l', type: 'symlink', linkname: 'f' },
  ]);
  const expected = 1700000000; // packTar's mtime
  for (const path of ['d', 'd/f']) assert.is(Math.floor(statSync(join(layer, path)).mtimeMs / 1000), expected, path);
  assert.is(Math.floor(lstatSync(join(layer, 'd/l')).mtimeMs / 1000), expected);
});

test('a file that is mostly zeros is written sparse', async () => {
  const content = Buffer.alloc(8 * 1024 * 1024);
  content.write('start', 0);
  content.write('middle', 4 * 1024 * 1024 + 100);
  content.write('end', content.length - 3);
  await extract([{ name: 'sparse', content }]);
  const st = statSync(join(layer, 'sparse'));
  assert.is(st.size, content.length);
  assert.ok(st.blocks * 512 < 64 * 1024, `allocated ${st.blocks * 512} bytes`);
  assert.ok(readFileSync(join(layer, 'sparse')).equals(content));
});

test('a file ending in a hole keeps its full size', async () => {
  const content = Buffer.alloc(1024 * 1024 + 17);
  content.write('x', 0);
  await extract([{ name: 'tail', content }]);
  assert.is(statSync(join(layer, 'tail')).size, content.length);
  assert.ok(readFileSync(join(layer, 'tail')).equals(content));
});

test('xattrs from PAX headers are applied, overlay metadata is not, and none go on symlinks', async () => {
  const result = await extract([
    {
      name: 'f',
      content: 'x',
      pax: { 'SCHILY.xattr.user.note': 'hello', 'SCHILY.xattr.user.overlay.opaque': 'y', 'SCHILY.xattr.trusted.overlay.redirect': '/etc' },
    },
    { name: 'l', type: 'symlink', linkname: 'f', pax: { 'SCHILY.xattr.user.note': 'no' } },
  ]);
  assert.equal(result.xattrs, [{ path: 'f', name: 'user.note', value: Buffer.from('hello').toString('hex') }]);
  assert.equal(
    ops.map((o) => (o.op === 'xattr' ? `${o.name}@${o.path.slice(layer.length)}` : o.op)),
    ['user.note@/f'],
  );
});

test('a binary xattr (security.capability) in a PAX header arrives byte for byte', async () => {
  // VFS_CAP_REVISION_2 with CAP_NET_RAW permitted and effective: not UTF-8.
  const capability = Buffer.from('0100000200200000000000000000000000000000', 'hex');
  const result = await extract([
    { name: 'bin/ping', content: 'x', mode: 0o755, xattrs: { 'security.capability': capability, 'user.é': Buffer.from([0xff, 0]) } },
  ]);
  assert.equal(result.xattrs, [
    { path: 'bin/ping', name: 'security.capability', value: capability.toString('hex') },
    { path: 'bin/ping', name: 'user.é', value: 'ff00' },
  ]);
  const applied = ops.filter((o) => o.op === 'xattr');
  assert.ok(applied.every((o) => o.op === 'xattr' && o.path === join(layer, 'bin/ping')));
  assert.ok(applied[0].op === 'xattr' && applied[0].value.equals(capability));
});

test('device nodes are skipped and reported', async () => {
  const result = await extract([
    { name: 'dev', type: 'directory' },
    { name: 'dev/null', type: 'character-device' },
  ]);
  assert.equal(result.skippedDevices, ['dev/null']);
  assert.equal(readdirSync(join(layer, 'dev')), []);
});

test('the layer root entry changes nothing', async () => {
  chmodSync(layer, 0o755);
  await extract([
    { name: './', type: 'directory', mode: 0o700 },
    { name: './f', content: 'x' },
  ]);
  assert.is(statSync(layer).mode & 0o7777, 0o755);
  assert.is(readFileSync(join(layer, 'f'), 'utf8'), 'x');
});

test('a truncated tar is an error', async () => {
  const tar = await packTar([{ name: 'f', content: Buffer.alloc(10000, 1) }]);
  const error = await rejectionOf(() => extract(tar.subarray(0, 3000)), 'a truncated tar');
  assert.match((error as Error).message, /Unexpected end of data/);
});

test('a name longer than Linux allows is an error naming the entry, not the path it was written to', async () => {
  try {
    await extract([{ name: `d/${'n'.repeat(300)}`, content: 'x' }]);
    assert.unreachable('the layer was accepted');
  } catch (error) {
    assert.match((error as Error).message, /^entry "d\/n+…": a name in its path is longer than Linux allows \(255 bytes\)$/);
  }
});

test('a pre-existing symlink in the target is never followed', async () => {
  // The extractor requires an empty directory; even if one is not, a link in it is replaced, not used.
  symlinkSync(outside, join(layer, 'pre'));
  await extract([{ name: 'pre', content: 'mine' }]);
  assert.ok(lstatSync(join(layer, 'pre')).isFile());
  outsideUntouched();
});

test.run();
