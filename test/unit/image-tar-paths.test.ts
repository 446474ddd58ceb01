import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classifyWhiteout, entryPath, hardlinkTarget, parentsOf } from '../../src/image/tar-paths.js';

test('entry names are made relative and cleaned as tar does', () => {
  assert.is(entryPath('./etc/passwd'), 'etc/passwd');
  assert.is(entryPath('/etc//passwd'), 'etc/passwd');
  assert.is(entryPath('usr/lib/../bin/x'), 'usr/bin/x');
  assert.is(entryPath('./'), '');
});

// Breakout names from containerd's TestBreakouts and umoci's scoping tests.
for (const name of ['../x', '/../../x', './../x', 'a/../../x', '/./.././x', 'a/b/../../../etc/passwd']) {
  test(`"${name}" escapes the layer and is refused`, () => {
    assert.throws(() => entryPath(name), /escapes the layer directory/);
  });
}

test('hard link targets are confined like entry names and may not be the root', () => {
  assert.is(hardlinkTarget('x', './bin/busybox'), 'bin/busybox');
  assert.throws(() => hardlinkTarget('x', '../outside'), /escapes/);
  assert.throws(() => hardlinkTarget('x', './'), /points at the layer root/);
});

test('whiteouts: .wh.NAME deletes NAME, .wh..wh..opq makes the directory opaque', () => {
  assert.equal(classifyWhiteout('etc/.wh.passwd'), { kind: 'whiteout', target: 'etc/passwd' });
  assert.equal(classifyWhiteout('.wh.top'), { kind: 'whiteout', target: 'top' });
  assert.equal(classifyWhiteout('var/cache/.wh..wh..opq'), { kind: 'opaque', dir: 'var/cache' });
  assert.equal(classifyWhiteout('etc/passwd'), { kind: 'none' });
});

test('a whiteout that names no file, or the parent, is refused', () => {
  assert.throws(() => classifyWhiteout('etc/.wh.'), /names no file/);
  assert.throws(() => classifyWhiteout('etc/.wh...'), /names no file/);
});

test('parents are listed shallowest first', () => {
  assert.equal(parentsOf('a/b/c'), ['a', 'a/b']);
  assert.equal(parentsOf('top'), []);
});

test.run();
