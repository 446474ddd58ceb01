import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import {
  digestFromArchivePath,
  normalizeNames,
  ociRefName,
  parseDockerArchiveManifest,
  parseImageIndex,
  parseImageManifest,
  selectPlatform,
} from '../../src/image/archive-manifest.js';
import type { Descriptor } from '../../src/image/oci.js';

const hex = 'ab'.repeat(32);
const digest = `sha256:${hex}`;
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

test('docker-archive manifest.json as podman save writes it', () => {
  const images = parseDockerArchiveManifest(json([{ Config: `${hex}.json`, RepoTags: ['localhost/x:1'], Layers: [`${hex}.tar`] }]), 'a.tar');
  assert.equal(images, [{ Config: `${hex}.json`, RepoTags: ['localhost/x:1'], Layers: [`${hex}.tar`] }]);
});

test('docker-archive manifest.json of an untagged image (RepoTags null, as docker save writes it)', () => {
  const images = parseDockerArchiveManifest(json([{ Config: 'c.json', RepoTags: null, Layers: [] }]), 'a.tar');
  assert.equal(images[0].RepoTags, []);
});

for (const [what, value, message] of [
  ['not JSON', Buffer.from('{'), /a.tar: "manifest.json" in the archive is not valid JSON/],
  ['an empty list', json([]), /manifest.json lists no images/],
  ['an object instead of a list', json({ Config: 'c' }), /manifest.json lists no images/],
  ['an entry without Layers', json([{ Config: 'c.json', RepoTags: [] }]), /entry 1 is not an image/],
  ['a Config that is not a string', json([{ Config: 1, Layers: [] }]), /entry 1 is not an image/],
  ['RepoTags that are not strings', json([{ Config: 'c', Layers: [], RepoTags: [1] }]), /entry 1 is not an image/],
] as const) {
  test(`docker-archive manifest.json: ${what} is refused naming the archive`, () => {
    assert.throws(() => parseDockerArchiveManifest(value as Buffer, 'a.tar'), message);
  });
}

test('archive paths that promise a digest: OCI blobs and docker-archive configs, not legacy layer dirs', () => {
  assert.is(digestFromArchivePath(`blobs/sha256/${hex}`), digest);
  assert.is(digestFromArchivePath(`${hex}.json`), digest);
  assert.is(digestFromArchivePath(`${hex}/layer.tar`), undefined);
  assert.is(digestFromArchivePath(`${hex}.tar`), undefined);
  assert.is(digestFromArchivePath('manifest.json'), undefined);
  assert.is(digestFromArchivePath(`blobs/sha512/${hex}`), undefined);
});

test("OCI ref names: a full name names the image, a bare tag does not; containerd's annotation wins", () => {
  assert.is(ociRefName({ 'org.opencontainers.image.ref.name': 'localhost/x:1' }), 'localhost/x:1');
  assert.is(ociRefName({ 'org.opencontainers.image.ref.name': 'docker.io/library/busybox:latest' }), 'docker.io/library/busybox:latest');
  assert.is(ociRefName({ 'org.opencontainers.image.ref.name': 'latest' }), undefined);
  assert.is(ociRefName({ 'org.opencontainers.image.ref.name': '1.0' }), undefined);
  assert.is(ociRefName({ 'org.opencontainers.image.ref.name': 'latest', 'io.containerd.image.name': 'docker.io/library/x:2' }), 'docker.io/library/x:2');
  assert.is(ociRefName(undefined), undefined);
});

test('names from an archive are normalized; a bad one is an error naming the archive', () => {
  assert.equal(normalizeNames(['busybox', 'localhost/x:1'], 'a.tar'), ['docker.io/library/busybox:latest', 'localhost/x:1']);
  assert.throws(() => normalizeNames(['Bad Name'], 'a.tar'), /^a\.tar: invalid reference "Bad Name"/);
  assert.throws(() => normalizeNames([`x@${digest}`], 'a.tar'), /a digest reference, not a name/);
});

const descriptor = (platform?: { os: string; architecture: string }): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest,
  size: 1,
  ...(platform ? { platform } : {}),
});

test('platform selection: the entry for linux/<arch>; entries without platforms are all kept', () => {
  const amd = descriptor({ os: 'linux', architecture: 'amd64' });
  const arm = descriptor({ os: 'linux', architecture: 'arm64' });
  const attestation = descriptor({ os: 'unknown', architecture: 'unknown' });
  assert.equal(selectPlatform([arm, amd, attestation], 'amd64', 'a.tar'), [amd]);
  assert.equal(selectPlatform([descriptor(), descriptor()], 'amd64', 'a.tar').length, 2);
  assert.throws(() => selectPlatform([arm], 'amd64', 'a.tar'), /a.tar: no image for linux\/amd64 in the archive \(it has linux\/arm64\)/);
});

test('index and manifest shapes are checked, and digests must be sha256', () => {
  assert.is(parseImageIndex(json({ schemaVersion: 2, manifests: [descriptor()] }), 'a.tar', 'index.json').manifests.length, 1);
  assert.throws(() => parseImageIndex(json({ schemaVersion: 2 }), 'a.tar', 'index.json'), /"index.json" is not an image index/);
  assert.throws(() => parseImageIndex(json({ manifests: [{ ...descriptor(), digest: 'sha256:../../etc' }] }), 'a.tar', 'index.json'), /not a sha256 digest/);
  const manifest = { schemaVersion: 2, config: descriptor(), layers: [descriptor()] };
  assert.is(parseImageManifest(json(manifest), 'a.tar', 'm').layers.length, 1);
  assert.throws(() => parseImageManifest(json({ ...manifest, layers: [{ digest }] }), 'a.tar', 'm'), /layer 1 of m has a malformed descriptor/);
  assert.throws(() => parseImageManifest(json({ ...manifest, config: undefined }), 'a.tar', 'm'), /the config of m has a malformed descriptor/);
});

test.run();
