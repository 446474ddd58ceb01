import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { tmpdir } from 'node:os';
import { parseVolume } from '../../src/sandbox/volumes.js';

const dir = tmpdir();

test('SRC:DST and SRC:DST:ro / rw, paths normalized', () => {
  assert.equal(parseVolume(`${dir}:/data`), { source: dir, destination: '/data', readonly: false });
  assert.equal(parseVolume(`${dir}/:/data/../x:ro`), { source: `${dir}/`, destination: '/x', readonly: true });
  assert.is(parseVolume(`${dir}:/data:z,rw`).readonly, false);
});

for (const [spec, message] of [
  ['/only-one', /expected SRC:DST/],
  ['named:/data', /not an absolute host path/],
  [`${dir}:relative`, /must be an absolute path/],
  [`${dir}:/data:rx`, /unknown option "rx"/],
  ['/does/not/exist:/data', /does not exist/],
] as const) {
  test(`refused: ${spec}`, () => {
    assert.throws(() => parseVolume(spec), message);
  });
}

test.run();
