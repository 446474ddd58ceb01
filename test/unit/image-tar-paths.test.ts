import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { entryKind, entryPath, hardlinkTarget, parentsOf } from '../../src/image/tar-paths.js';

test('entry names are made relative and cleaned as tar does', () => {
  assert.is(entryPath('./etc/passwd'), 'etc/passwd');
  assert.is(entryPath('/etc//passwd'), 'etc/passwd');
  assert.is(entryPath('usr/lib/../bin/x'), 'usr/bin/x');
  assert.is(entryPath('bin/'), 'bin');
  assert.is(entryPath('./'), '');
  assert.is(entryPath('/'), '');
});

// Breakout names from containerd's TestBreakouts and umoci's TestUnpackEntrySanitiseScoping prefixes.
for (const name of ['../x', '/../../x', './../x', 'a/../../x', '/./.././x', '/../../../../etc/passwd', 'a/b/../../../etc/passwd', '..']) {
  test(`"${name}" escapes the layer and is refused`, () => {
    assert.throws(() => entryPath(name), /escapes the layer directory/);
  });
}

test('a NUL byte in a name is refused', () => {
  assert.throws(() => entryPath('etc/pass\0wd'), /NUL byte/);
});

test('hard link targets are confined like entry names and may not be the root', () => {
  assert.is(hardlinkTarget('x', './bin/busybox'), 'bin/busybox');
  assert.is(hardlinkTarget('x', '/bin/busybox'), 'bin/busybox');
  assert.throws(() => hardlinkTarget('h', '../outside'), /hard link "h" points at "..\/outside", which escapes the layer directory/);
  assert.throws(() => hardlinkTarget('h', 'a/../../x'), /escapes/);
  assert.throws(() => hardlinkTarget('h', './'), /points at the layer root/);
});

test('parents are listed shallowest first', () => {
  assert.equal(parentsOf('a/b/c'), ['a', 'a/b']);
  assert.equal(parentsOf('top'), []);
});

test('entry kinds: files, dirs, links, FIFOs; devices are recognized (to be skipped)', () => {
  assert.is(entryKind({ name: 'f', type: 'file' }), 'file');
  assert.is(entryKind({ name: 'f', type: 'contiguous-file' }), 'file');
  assert.is(entryKind({ name: 'd', type: 'directory' }), 'directory');
  assert.is(entryKind({ name: 'l', type: 'symlink' }), 'symlink');
  assert.is(entryKind({ name: 'h', type: 'link' }), 'link');
  assert.is(entryKind({ name: 'p', type: 'fifo' }), 'fifo');
  assert.is(entryKind({ name: 'c', type: 'character-device' }), 'device');
  assert.is(entryKind({ name: 'b', type: 'block-device' }), 'device');
});

test('an unknown entry type or a GNU sparse file is refused rather than silently dropped', () => {
  assert.throws(() => entryKind({ name: 'odd', type: null }), /entry "odd" has a tar entry type devbox cannot extract/);
  assert.throws(() => entryKind({ name: 's', type: 'file', pax: { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0' } }), /entry "s" is a GNU sparse file/);
});

test.run();
