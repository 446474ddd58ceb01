/**
 * The store's bookkeeping without namespaces: how references find images, the index and its lock, and the
 * temp files a crash leaves. Images here have no layers, so nothing needs unpacking.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { saveArchive } from '../../src/image/archive-save.js';
import { writeBlobBytes } from '../../src/image/blobs.js';
import { removeStaleTemps } from '../../src/image/durable.js';
import { hostArchitecture, MediaType, type ImageConfig, type ImageManifest } from '../../src/image/oci.js';
import { ImageStore } from '../../src/image/store.js';
import { DevboxError } from '../../src/util/errors.js';

let root: string;
let store: ImageStore;

test.before.each(() => {
  root = mkdtempSync(join(tmpdir(), 'devbox-store-'));
  store = ImageStore.open(root);
});

test.after.each(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Adds an image with no layers; `created` makes ids differ. Returns its id and manifest digest. */
async function addImage(names: string[], created: string): Promise<{ id: string; manifest: string }> {
  const config: ImageConfig = { created, architecture: hostArchitecture(), os: 'linux', rootfs: { type: 'layers', diff_ids: [] } };
  const configBlob = await writeBlobBytes(root, JSON.stringify(config));
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, ...configBlob }, layers: [] };
  const manifestBlob = await writeBlobBytes(root, JSON.stringify(manifest));
  await store.addImages([{ id: configBlob.digest, manifestDigest: manifestBlob.digest, names }]);
  return { id: configBlob.digest, manifest: manifestBlob.digest };
}

async function rejects(fn: () => Promise<unknown>, check: (error: DevboxError) => void): Promise<void> {
  try {
    await fn();
  } catch (error) {
    assert.instance(error, DevboxError);
    check(error as DevboxError);
    return;
  }
  assert.unreachable('no error');
}

test('an image is found by normalized name, full id, id prefix and name@digest', async () => {
  const { id, manifest } = await addImage(['docker.io/library/busybox:latest'], '2024-01-01T00:00:00Z');
  const hex = id.slice(7);
  for (const ref of ['busybox', 'busybox:latest', 'docker.io/library/busybox', id, hex, hex.slice(0, 4), `sha256:${hex.slice(0, 12)}`, `busybox@${manifest}`]) {
    assert.is((await store.resolve(ref)).id, id, ref);
  }
});

test('a name wins over an id prefix that reads the same', async () => {
  const a = await addImage(['docker.io/library/other:latest'], '2024-01-01T00:00:00Z');
  const prefix = a.id.slice(7, 11);
  const b = await addImage([`docker.io/library/${prefix}:latest`], '2024-01-02T00:00:00Z');
  assert.is(store.find(prefix)?.id, b.id);
  assert.is(store.find(prefix)?.name, `docker.io/library/${prefix}:latest`);
});

test('an unknown image: one line with how to get one, exit status 125', async () => {
  await rejects(
    () => store.resolve('nothing:here'),
    (e) => {
      assert.is(
        e.toLine(),
        'unknown image "nothing:here" (see "devbox images"; load one with "devbox image load -i FILE" or "devbox image import ROOTFS.tar NAME")',
      );
      assert.is(e.kind, 'failure');
    },
  );
});

test('an ambiguous id prefix is an error, not a guess; a longer one decides', () => {
  const record = { manifest: `sha256:${'f'.repeat(64)}`, names: [], created: '2024-01-01T00:00:00Z' };
  const one = `sha256:abcd${'1'.repeat(60)}`;
  const two = `sha256:abcd${'2'.repeat(60)}`;
  writeFileSync(join(root, 'images.json'), JSON.stringify({ version: 1, images: { [one]: record, [two]: record } }));
  assert.throws(() => store.find('abcd'), /image id prefix "abcd" is ambiguous/);
  assert.is(store.find('abcd1')?.id, one);
  assert.is(store.find('abc'), undefined, 'three digits are a name, not an id prefix');
});

test('a name moves to the image that takes it; the old image keeps its other names', async () => {
  const first = await addImage(['docker.io/library/app:1', 'docker.io/library/app:stable'], '2024-01-01T00:00:00Z');
  const second = await addImage(['docker.io/library/app:stable'], '2024-01-02T00:00:00Z');
  assert.is((await store.resolve('app:stable')).id, second.id);
  assert.equal((await store.resolve(first.id)).names, ['docker.io/library/app:1']);
});

test('list shows every image, newest first', async () => {
  await addImage(['docker.io/library/old:1'], '2020-01-01T00:00:00Z');
  await addImage(['docker.io/library/new:1'], '2025-01-01T00:00:00Z');
  await addImage([], '2022-01-01T00:00:00Z');
  assert.equal(
    store.list().map((i) => i.names[0] ?? '<none>'),
    ['docker.io/library/new:1', '<none>', 'docker.io/library/old:1'],
  );
});

test('the index is replaced through tmp/ and nothing is left there', async () => {
  await addImage(['docker.io/library/a:1'], '2024-01-01T00:00:00Z');
  assert.equal(readdirSync(join(root, 'tmp')), []);
  assert.ok(existsSync(join(root, 'images.json')));
});

test('an index of another version is refused rather than misread', () => {
  writeFileSync(join(root, 'images.json'), JSON.stringify({ version: 2, images: {} }));
  assert.throws(() => store.readIndex(), /unknown format \(version 2\)/);
});

test('the store lock is re-entrant within one call chain', async () => {
  const result = await store.withLock(() => store.withLock(async () => 'inner'));
  assert.is(result, 'inner');
});

test('concurrent writers in one process take turns', async () => {
  const order: string[] = [];
  const writer = (name: string) =>
    store.withLock(async () => {
      order.push(`${name}+`);
      await new Promise((r) => setTimeout(r, 30));
      order.push(`${name}-`);
    });
  await Promise.all([writer('a'), writer('b')]);
  assert.ok(order.join() === 'a+,a-,b+,b-' || order.join() === 'b+,b-,a+,a-', order.join());
});

test('a stale lock left by a dead command is taken over', async () => {
  mkdirSync(join(root, 'lock.lock'), { recursive: true });
  const old = new Date(Date.now() - 120_000);
  utimesSync(join(root, 'lock.lock'), old, old);
  assert.is(await store.withLock(async () => 'got it'), 'got it');
});

test("temp files a crash left are removed when the lock is next taken; other programs' files stay", async () => {
  mkdirSync(join(root, 'tmp'), { recursive: true });
  for (const name of ['blob-0123456789ab', 'archive-aaaaaaaaaaaa', 'file-bbbbbbbbbbbb', 'probe-x1']) writeFileSync(join(root, 'tmp', name), '');
  await store.withLock(async () => {});
  assert.equal(readdirSync(join(root, 'tmp')), ['probe-x1']);
  await removeStaleTemps(join(root, 'missing')); // no tmp/ at all is fine
});

test('saving to a terminal is refused before anything is read', async () => {
  const terminal = Object.assign(new Writable({ write: (_c, _e, cb) => cb() }), { isTTY: true });
  await rejects(
    () => saveArchive(store, ['anything'], terminal, 'docker-archive'),
    (e) => assert.match(e.message, /refusing to write an image archive to a terminal/),
  );
});

test.run();
