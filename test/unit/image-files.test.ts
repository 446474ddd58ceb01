/**
 * Reading a file of an image from its layers: as the container sees it, with every symlink resolved inside
 * the image, across layers, whiteouts and opaque directories, and never on the host.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { imageHasFile, readImageFile } from '../../src/image/image-files.js';

let dir: string;
let lower: string;
let upper: string;
let host: string;

/** Writes `files` (path → content, or { link }) into a layer directory. */
function layer(root: string, files: Record<string, string | { link: string }>, opaque: string[] = []): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    if (typeof content === 'string') writeFileSync(join(root, path), content);
    else symlinkSync(content.link, join(root, path));
  }
  writeFileSync(`${root}.json`, JSON.stringify({ diffID: '', size: 0, opaqueDirs: opaque, xattrs: [] }));
}

test.before.each(() => {
  dir = mkdtempSync(join(process.env.DEVBOX_TEST_TMP ?? tmpdir(), 'image-files-'));
  lower = join(dir, 'lower');
  upper = join(dir, 'upper');
  host = join(dir, 'host');
  mkdirSync(lower);
  mkdirSync(upper);
  mkdirSync(host);
  writeFileSync(join(host, 'passwd'), 'host:x:1:1::/:/bin/sh\n');
});

test.after.each(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('the topmost layer with the file wins', () => {
  layer(lower, { 'etc/passwd': 'lower\n' });
  layer(upper, { 'etc/passwd': 'upper\n' });
  assert.is(readImageFile([lower, upper], 'etc/passwd'), 'upper\n');
  assert.is(readImageFile([lower], 'etc/passwd'), 'lower\n');
});

test('a link in one layer to a folder of another is followed inside the image', () => {
  layer(lower, { 'alt/etc/passwd': 'alt\n' });
  layer(upper, { etc: { link: '/alt/etc' } });
  assert.is(readImageFile([lower, upper], 'etc/passwd'), 'alt\n');
  layer(join(dir, 'relative'), { etc: { link: '../../../../alt/etc' } });
  assert.is(readImageFile([lower, join(dir, 'relative')], 'etc/passwd'), 'alt\n');
});

test('a link to a host folder is resolved inside the image, where there is nothing', () => {
  layer(lower, { etc: { link: host }, bin: { link: '/usr/bin' } });
  assert.is(readImageFile([lower], 'etc/passwd'), '');
  // The host has /usr/bin/sh; the image does not.
  assert.not.ok(imageHasFile([lower], 'bin/sh'));
});

test('a file linked to a host file is not read', () => {
  layer(lower, { 'etc/passwd': { link: join(host, 'passwd') } });
  assert.is(readImageFile([lower], 'etc/passwd'), '');
});

test('an opaque directory hides the layers below; a loop of links is no file', () => {
  layer(lower, { 'etc/passwd': 'lower\n' });
  layer(upper, { 'etc/group': 'upper\n' }, ['etc']);
  assert.is(readImageFile([lower, upper], 'etc/passwd'), '');
  layer(join(dir, 'loop'), { a: { link: 'b' }, b: { link: 'a' } });
  assert.is(readImageFile([join(dir, 'loop')], 'a'), '');
});

test.run();
