import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { busyboxRootfs, testDir, writeTar } from '../helpers/images.js';

test('concurrent imports into one store all land, and the index stays whole', async () => {
  const dir = await testDir('concurrent');
  const tars = await Promise.all(
    [0, 1, 2, 3].map(async (i) => {
      const path = join(dir, `r${i}.tar`);
      await writeTar(path, [...busyboxRootfs(), { name: 'which', content: String(i) }]);
      return path;
    }),
  );
  const results = await Promise.all(tars.map((t, i) => devbox(['image', 'import', t, `parallel:${i}`])));
  for (const r of results) assert.is(r.exitCode, 0, r.stderr);
  for (const i of [0, 1, 2, 3]) {
    const out = await devboxOk(['run', '--rm', `parallel:${i}`, 'cat', '/which']);
    assert.is(out.stdout, String(i));
  }
});

test.run();
