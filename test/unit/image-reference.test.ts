import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { familiarName, normalizedName, parseReference } from '../../src/image/reference.js';
import { DevboxError } from '../../src/util/errors.js';
import { abbreviate } from '../../src/util/format.js';
import { thrownBy } from '../helpers/errors.js';

const digest = `sha256:${'a'.repeat(64)}`;

for (const [input, expected] of [
  ['busybox', 'docker.io/library/busybox:latest'],
  ['busybox:1.36', 'docker.io/library/busybox:1.36'],
  ['user/app', 'docker.io/user/app:latest'],
  ['localhost/app', 'localhost/app:latest'],
  ['localhost/app:dev', 'localhost/app:dev'],
  ['localhost:5000/team/app:1.0', 'localhost:5000/team/app:1.0'],
  ['host:5000/ns/x:tag', 'host:5000/ns/x:tag'],
  ['registry.example.com/a/b/c', 'registry.example.com/a/b/c:latest'],
  ['my-reg.io/x__y.z-1:T_1.0-rc', 'my-reg.io/x__y.z-1:T_1.0-rc'],
  ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest'],
  ['docker.io/busybox', 'docker.io/library/busybox:latest'],
  ['Registry.Example.com/app', 'Registry.Example.com/app:latest'],
  ['a--b/c', 'docker.io/a--b/c:latest'],
  [`x:${'t'.repeat(128)}`, `docker.io/library/x:${'t'.repeat(128)}`],
] as const) {
  test(`"${input.length > 40 ? `${input.slice(0, 40)}…` : input}" normalizes to ${expected.length > 60 ? `${expected.slice(0, 60)}…` : expected}`, () => {
    assert.is(normalizedName(parseReference(input)), expected);
  });
}

test('a digest reference keeps its digest and has no tag', () => {
  const ref = parseReference(`busybox@${digest}`);
  assert.equal(ref, { domain: 'docker.io', path: 'library/busybox', tag: undefined, digest });
});

test('a reference may have both a tag and a digest', () => {
  const ref = parseReference(`host:5000/x:1@${digest}`);
  assert.equal(ref, { domain: 'host:5000', path: 'x', tag: '1', digest });
});

test('a port-only first component is a registry, not a tag', () => {
  assert.equal(parseReference('host:5000/x'), { domain: 'host:5000', path: 'x', tag: undefined, digest: undefined });
});

test('familiar names drop docker.io and library/ as docker shows them', () => {
  assert.is(familiarName('docker.io/library/busybox:latest'), 'busybox:latest');
  assert.is(familiarName('docker.io/user/app:1'), 'user/app:1');
  assert.is(familiarName('docker.io/library/a/b:1'), 'library/a/b:1');
  assert.is(familiarName('localhost:5000/x:y'), 'localhost:5000/x:y');
  assert.is(familiarName('localhost/x:latest'), 'localhost/x:latest');
});

for (const [input, why] of [
  ['Busybox', /"Busybox" must be lowercase/],
  ['busybox:', /a tag is up to 128/],
  ['busybox:-bad', /a tag is up to 128/],
  [`busybox:${'t'.repeat(129)}`, /a tag is up to 128/],
  ['busybox@sha256:abc', /a digest is sha256: and 64 lowercase hex digits/],
  [`busybox@md5:${'a'.repeat(32)}`, /a digest is sha256/],
  ['', /no repository name/],
  [':tag', /no repository name/],
  ['a//b', /must be lowercase/],
  ['a/b_-c', /must be lowercase/],
  ['x/.hidden', /must be lowercase/],
  ['-reg.io/x', /"-reg.io" is not a registry host/],
  ['reg.io:port/x', /"reg.io:port" is not a registry host/],
  ['a'.repeat(64), /cannot be 64 hexadecimal digits/],
  [`reg.io/${'a'.repeat(250)}`, /longer than 255 characters/],
  ['localhost:99999/x:1', /port 99999 is out of range \(1-65535\)/],
  ['reg.io:0/x', /port 0 is out of range/],
] as const) {
  test(`"${input.length > 40 ? `${input.slice(0, 40)}…` : input}" is refused naming the reference and the rule it breaks`, () => {
    const error = thrownBy(() => parseReference(input));
    assert.instance(error, DevboxError);
    // Echoed back, cut short when long (a 5 kB reference made a 5 kB message).
    assert.match((error as Error).message, `invalid reference "${abbreviate(input)}"`);
    assert.ok((error as Error).message.length < 250, (error as Error).message);
    assert.match((error as Error).message, why);
    assert.is((error as DevboxError).kind, 'usage');
  });
}

test.run();
