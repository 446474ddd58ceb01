/** util/atomic-write.ts: readers see the old file or the new one, temp files never shared or left behind. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { rejectionOf } from '../helpers/errors.js';
import { tempBeside, writeFileAtomic, writeFileAtomicSync } from '../../src/util/atomic-write.js';

let dir: string;

test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'devbox-atomic-'));
});

test.after.each(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('two writers of one file at the same moment use two temp files; the file is one of them, whole', async () => {
  const path = join(dir, 'state.json');
  const a = 'a'.repeat(1 << 20);
  const b = 'b'.repeat(1 << 20);
  await Promise.all([writeFileAtomic(path, a, { durable: true }), writeFileAtomic(path, b, { durable: false })]);
  const content = readFileSync(path, 'utf8');
  assert.ok(content === a || content === b, 'the file mixes the two writes');
  assert.equal(readdirSync(dir), ['state.json']);
  assert.is.not(tempBeside(path), tempBeside(path));
});

test('a write that cannot be renamed into place leaves the old files and no temp file', async () => {
  const path = join(dir, 'record');
  writeFileSync(path, 'old');
  // rename(2) cannot replace a directory that has entries with a file.
  const target = join(dir, 'sub');
  mkdirSync(join(target, 'child'), { recursive: true });
  const error = await rejectionOf(() => writeFileAtomic(target, 'new', { durable: true }), 'replacing a directory');
  assert.is((error as NodeJS.ErrnoException).code, 'EISDIR');
  assert.throws(() => writeFileAtomicSync(target, 'new', { durable: false }), /EISDIR/);
  assert.is(readFileSync(path, 'utf8'), 'old');
  assert.equal(readdirSync(dir).sort(), ['record', 'sub']);
  assert.equal(readdirSync(target), ['child']);
});

test('a new file gets the mode asked for; the sync and async writers agree', async () => {
  const secret = join(dir, 'auth.json');
  await writeFileAtomic(secret, '{}', { durable: true, mode: 0o600 });
  assert.is(statSync(secret).mode & 0o777, 0o600);
  const plain = join(dir, 'plain');
  writeFileAtomicSync(plain, 'x', { durable: true });
  assert.is(statSync(plain).mode & 0o777, 0o644 & ~process.umask());
  assert.is(readFileSync(plain, 'utf8'), 'x');
});

test.run();
