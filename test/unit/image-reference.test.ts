import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { familiarName, normalizedName, parseReference } from '../../src/image/reference.js';

const digest = `sha256:${'a'.repeat(64)}`;

for (const [input, expected] of [
  ['busybox', 'docker.io/library/busybox:latest'],
  ['busybox:1.36', 'docker.io/library/busybox:1.36'],
  ['user/app', 'docker.io/user/app:latest'],
  ['localhost/app:dev', 'localhost/app:dev'],
  ['localhost:5000/team/app:1.0', 'localhost:5000/team/app:1.0'],
  ['registry.example.com/a/b/c', 'registry.example.com/a/b/c:latest'],
  ['my-reg.io/x__y.z-1:T_1.0-rc', 'my-reg.io/x__y.z-1:T_1.0-rc'],
] as const) {
  test(`"${input}" normalizes to ${expected}`, () => {
    assert.is(normalizedName(parseReference(input)), expected);
  });
}

test('a digest reference keeps its digest and has no tag', () => {
  const ref = parseReference(`busybox@${digest}`);
  assert.is(ref.digest, digest);
  assert.is(ref.tag, undefined);
  assert.is(ref.path, 'library/busybox');
});

test('familiar names drop docker.io and library/ as docker shows them', () => {
  assert.is(familiarName('docker.io/library/busybox:latest'), 'busybox:latest');
  assert.is(familiarName('docker.io/user/app:1'), 'user/app:1');
  assert.is(familiarName('localhost:5000/x:y'), 'localhost:5000/x:y');
});

for (const [input, why] of [
  ['Busybox', /lowercase/],
  ['busybox:', /a tag is/],
  ['busybox:-bad', /a tag is/],
  ['busybox@sha256:abc', /a digest is/],
  ['', /no repository name/],
  ['a//b', /lowercase/],
  ['UPPER.io:x/y', /registry host/],
] as const) {
  test(`"${input}" is refused with the rule it breaks`, () => {
    assert.throws(() => parseReference(input), why);
  });
}

test.run();
