/**
 * The layer extractor on hostile and tricky tars, in-process and without namespaces (ownership squashed,
 * helper operations recorded instead of run): whatever a tar says, nothing lands outside the layer.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extractLayer } from '../../src/image/extract.js';
import type { FsOp } from '../../src/userns/helper.js';
import { packTar, type TarEntry } from '../helpers/images.js';

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
  writeFileSync(join(outside, 'victim'), 'untouched');
  ops = [];
});

test.after.each(() => {
  rmSync(base, { recursive: true, force: true });
});

async function extract(entries: TarEntry[]) {
  return extractLayer(Readable.from([await packTar(entries)]), {
    root: layer,
    squashOwnership: true,
    applyFsOps: async (batch) => {
      ops.push(...batch);
      // Stand-in for the helper's mkfifo, which Node.js cannot do: the extractor then sets owner and times.
      for (const op of batch) if (op.op === 'fifo') writeFileSync(op.path, '');
    },
  });
}

function outsideUntouched() {
  assert.equal(readdirSync(outside), ['victim']);
  assert.is(readFileSync(join(outside, 'victim'), 'utf8'), 'untouched');
}

const hostile: [string, () => TarEntry[], RegExp][] = [
  ['a file written through a symlink to a host directory', () => [{ name: 'evil', type: 'symlink', linkname: outside }, { name: 'evil/pwned', content: 'x' }], /passes through the symlink "evil"/],
  ['a file written through a symlink to /', () => [{ name: 'root', type: 'symlink', linkname: '/' }, { name: `root${outside}/pwned`, content: 'x' }], /passes through the symlink "root"/],
  ['a relative symlink that climbs out, then a write through it', () => [{ name: 'up', type: 'symlink', linkname: '../outside' }, { name: 'up/pwned', content: 'x' }], /passes through the symlink "up"/],
  ['a name that climbs out', () => [{ name: '../outside/pwned', content: 'x' }], /escapes the layer directory/],
  ['a hard link to a file outside', () => [{ name: 'h', type: 'link', linkname: '../outside/victim' }], /escapes the layer directory/],
  ['a hard link through a symlink', () => [{ name: 'l', type: 'symlink', linkname: outside }, { name: 'h', type: 'link', linkname: 'l/victim' }], /passes through the symlink "l"/],
  ['a hard link to a file the layer does not have', () => [{ name: 'h', type: 'link', linkname: 'nothing' }], /not in the layer/],
  ['a whiteout through a symlink', () => [{ name: 'l', type: 'symlink', linkname: outside }, { name: 'l/.wh.victim' }], /passes through the symlink "l"/],
  ['a whiteout of the parent directory', () => [{ name: 'etc/.wh...' }], /names no file/],
];

for (const [what, entries, message] of hostile) {
  test(`refused: ${what}`, async () => {
    try {
      await extract(entries());
      assert.unreachable('the layer was accepted');
    } catch (error) {
      assert.match((error as Error).message, message);
    }
    outsideUntouched();
    assert.not.ok(ops.some((op) => !op.path.startsWith(layer)), 'a helper operation aimed outside the layer');
  });
}

test('a later entry replaces a symlink instead of writing through it', async () => {
  await extract([
    { name: 'x', type: 'symlink', linkname: join(outside, 'victim') },
    { name: 'x', content: 'replaced' },
  ]);
  assert.ok(lstatSync(join(layer, 'x')).isFile());
  assert.is(readFileSync(join(layer, 'x'), 'utf8'), 'replaced');
  outsideUntouched();
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

test('modes (setuid too), symlinks and hard links survive', async () => {
  await extract([
    { name: 'bin', type: 'directory', mode: 0o711 },
    { name: 'bin/tool', content: '#!/bin/sh\n', mode: 0o4755 },
    { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
    { name: 'bin/same', type: 'link', linkname: 'bin/tool' },
  ]);
  assert.is(statSync(join(layer, 'bin/tool')).mode & 0o7777, 0o4755);
  assert.is(statSync(join(layer, 'bin')).mode & 0o7777, 0o711);
  assert.is(lstatSync(join(layer, 'bin/alias')).isSymbolicLink(), true);
  assert.is(statSync(join(layer, 'bin/same')).ino, statSync(join(layer, 'bin/tool')).ino);
});

test('a file that is mostly zeros is written sparse', async () => {
  const content = Buffer.alloc(8 * 1024 * 1024);
  content.write('start', 0);
  content.write('end', content.length - 3);
  await extract([{ name: 'sparse', content }]);
  const st = statSync(join(layer, 'sparse'));
  assert.is(st.size, content.length);
  assert.ok(st.blocks * 512 < 64 * 1024, `allocated ${st.blocks * 512} bytes`);
  assert.ok(readFileSync(join(layer, 'sparse')).equals(content));
});

test('xattrs from PAX headers are applied, overlay metadata is not', async () => {
  const result = await extract([
    { name: 'f', content: 'x', pax: { 'SCHILY.xattr.user.note': 'hello', 'SCHILY.xattr.user.overlay.opaque': 'y', 'SCHILY.xattr.trusted.overlay.redirect': '/etc' } },
  ]);
  assert.equal(result.xattrs, [{ path: 'f', name: 'user.note', value: Buffer.from('hello').toString('hex') }]);
  assert.equal(ops.map((o) => (o.op === 'xattr' ? o.name : o.op)), ['user.note']);
});

test.run();
