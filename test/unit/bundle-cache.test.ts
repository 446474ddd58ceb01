/** scripts/bundle-hot.mjs: each entry's bundle is ASCII and has a V8 code cache that this Node.js takes, as bin/devbox compiles it. */
import { readdirSync, readFileSync } from 'node:fs';
import { Module } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { ENTRIES } from '../../src/cli/entries.js';

const bundles = fileURLToPath(new URL('../../bundle', import.meta.url));

test('every bundle of an entry is ASCII and has a code cache, which V8 takes for it, and which names no path of the build', () => {
  const names = [...new Set(ENTRIES.flatMap((e) => (e.bundle ? [e.bundle] : [])))];
  assert.ok(names.includes('run'), 'the run bundle is among them');
  for (const name of names) {
    const file = join(bundles, `${name}.cjs`);
    const cachedData = readFileSync(`${file}.cache`);
    const source = readFileSync(file);
    assert.ok(
      source.every((byte) => byte < 0x80),
      `${name}.cjs is not ASCII: bin/devbox reads it as latin1`,
    );
    const script = new Script(Module.wrap(source.toString('latin1')), { filename: file, cachedData });
    assert.not.ok(script.cachedDataRejected, `${name}.cjs.cache rejected`);
    assert.not.ok(cachedData.includes(bundles), `${name}.cjs.cache holds the path it was built at`);
  }
  assert.equal(
    readdirSync(bundles).filter((f) => f.endsWith('.cache')),
    names.map((n) => `${n}.cjs.cache`).sort(),
    'no cache of something that is not a bundle',
  );
});
test.run();
