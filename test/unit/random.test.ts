import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { randomHex, randomIndex } from '../../src/util/random.js';
import { sha256Hex } from '../../src/util/sha256.js';

test('randomHex gives the requested number of random bytes as lower-case hex, different each call', () => {
  const ids = new Set(Array.from({ length: 100 }, () => randomHex(32)));
  assert.is(ids.size, 100);
  for (const id of ids) assert.match(id, /^[0-9a-f]{64}$/);
  assert.match(randomHex(6), /^[0-9a-f]{12}$/);
});

test('randomIndex stays in [0, bound) and reaches every value', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const n = randomIndex(7);
    assert.ok(Number.isInteger(n) && n >= 0 && n < 7, `${n}`);
    seen.add(n);
  }
  assert.is(seen.size, 7);
  assert.is(randomIndex(1), 0);
});

test('sha256Hex is SHA-256 of the text as UTF-8, as node:crypto computes it', () => {
  assert.is(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  for (const text of ['', 'déjà vu ✓', 'x'.repeat(100_000)]) {
    assert.is(sha256Hex(text), createHash('sha256').update(text).digest('hex'));
  }
});
test.run();
