/**
 * Listing, resolving and removing images: names untag, ids remove, garbage collection deletes exactly the
 * blobs and unpacked layers nothing uses (inside the user namespace), and a running container keeps its image.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { DEVBOX_BIN } from '../helpers/cli.js';
import { createImageSuite, dockerArchive, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, packTar } from '../helpers/images.js';

let suite: ImageSuite;
let base: Buffer;

/** Fixtures, made before the first test (a failing `before` hook's error would be lost in uvu). */
const fixtures = once(async () => {
  suite = await createImageSuite('image-remove');
  base = await packTar(busyboxRootfs());
});

test.before.each(fixtures);

test.after(async () => {
  await suite?.cleanup();
});

/** Loads an image of the busybox layer plus a layer with `marker`, under `names`. */
async function load(names: string[], marker: string): Promise<void> {
  const archive = join(await suite.tempDir('load'), 'a.tar');
  writeFileSync(archive, await dockerArchive([{ layers: [base, await packTar([{ name: 'marker', content: marker }])], names }]));
  await suite.devboxOk(['image', 'load', '-i', archive]);
}

const blobs = () => readdirSync(join(suite.storeRoot, 'blobs', 'sha256')).sort();

test('images lists each name with its short id and size; -q and --no-trunc give ids; image ls is the same', async () => {
  await load(['listed:7', 'localhost/listed:8'], 'listed');
  const id = (await suite.inspect('listed:7')).Id;
  const out = (await suite.devboxOk(['images'])).stdout.split('\n');
  assert.match(out[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  assert.ok(
    out.some((l) => new RegExp(`^listed\\s+7\\s+${id.slice(0, 12)}\\s+\\S.*\\s+\\d+(\\.\\d+)?[kMG]?B$`).test(l)),
    out.join('\n'),
  );
  assert.ok(
    out.some((l) => new RegExp(`^localhost/listed\\s+8\\s+${id.slice(0, 12)}\\s`).test(l)),
    out.join('\n'),
  );
  assert.ok((await suite.devboxOk(['images', '-q'])).stdout.split('\n').includes(id.slice(0, 12)));
  assert.ok((await suite.devboxOk(['images', '-q', '--no-trunc'])).stdout.split('\n').includes(`sha256:${id}`));
  assert.is((await suite.devboxOk(['image', 'ls'])).stdout, (await suite.devboxOk(['images'])).stdout);
  await suite.devboxOk(['rmi', '-f', id]);
});

test('an image is found by name, full id, short id and name@digest', async () => {
  await load(['found:1'], 'found');
  const info = await suite.inspect('found:1');
  for (const ref of ['docker.io/library/found:1', info.Id, `sha256:${info.Id}`, info.Id.slice(0, 12), info.Id.slice(0, 4), `found@${info.Digest}`]) {
    assert.is((await suite.inspect(ref)).Id, info.Id, ref);
  }
  await suite.devboxOk(['rmi', 'found:1']);
});

test('rmi of one of two names untags; rmi of the last name removes the image, its blobs and its own layer', async () => {
  await load(['gone:1', 'gone:2'], 'gone');
  const info = await suite.inspect('gone:1');
  const [baseLayer, ownLayer] = info.RootFS.Layers.map((l) => suite.layerPath(l));
  await load(['keeper:1'], 'keeper'); // shares the busybox layer
  const blobsBefore = blobs();
  assert.is((await suite.devboxOk(['rmi', 'gone:2'])).stdout, 'Untagged: gone:2\n');
  assert.equal(blobs(), blobsBefore);
  assert.is((await suite.devboxOk(['image', 'rm', 'gone:1'])).stdout, `Untagged: gone:1\nDeleted: sha256:${info.Id}\n`);
  assert.not.ok(existsSync(ownLayer), 'the unpacked layer only this image used is still there');
  assert.not.ok(existsSync(`${ownLayer}.json`));
  assert.ok(existsSync(baseLayer) && existsSync(`${baseLayer}.json`), 'the layer another image uses was removed');
  assert.not.ok(blobs().includes(info.Id), 'the config blob is still there');
  assert.not.ok(blobs().includes(info.Digest.slice(7)), 'the manifest blob is still there');
  assert.is((await suite.devbox(['image', 'inspect', info.Id])).exitCode, 1); // docker image inspect: "No such image", status 1
  assert.is((await suite.devboxOk(['run', '--rm', 'keeper:1', 'cat', '/marker'])).stdout, 'keeper');
  await suite.devboxOk(['rmi', 'keeper:1']);
  assert.not.ok(existsSync(baseLayer), 'the shared layer outlived its last image');
  assert.equal(blobs(), []);
});

test('an image run with two id maps has a copy of its layers under each; df counts both, rmi removes both', async () => {
  await load(['twomaps:1'], 'twomaps');
  const info = await suite.inspect('twomaps:1');
  const layersRoot = join(suite.storeRoot, 'layers');
  const copies = () => readdirSync(layersRoot).filter((map) => existsSync(join(layersRoot, map, `${info.RootFS.Layers[1].slice(7)}.json`)));
  assert.equal(copies().length, 1);
  // keep-id is another map but for root, whose every map is the identity.
  const second = process.getuid!() !== 0 && suite.mapping.full;
  const userns = second ? 'keep-id' : 'host';
  const size = async () => (await suite.devboxOk(['system', 'df'])).stdout.split('\n').find((l) => l.startsWith('Images'));
  const before = await size();
  assert.is((await suite.devboxOk(['run', '--rm', `--userns=${userns}`, 'twomaps:1', 'cat', '/marker'])).stdout, 'twomaps');
  assert.is(copies().length, second ? 2 : 1);
  if (second) assert.is.not(await size(), before, 'system df did not count the second copy');
  await suite.devboxOk(['rmi', 'twomaps:1']);
  assert.equal(copies(), [], "a copy of the image's own layer outlived it");
});

test('rmi by id of an image with two names needs --force', async () => {
  await load(['twice:1', 'twice:2'], 'twice');
  const { Id } = await suite.inspect('twice:1');
  const refused = await suite.devbox(['rmi', Id.slice(0, 12)]);
  assert.is(refused.exitCode, 1);
  assert.match(refused.stderr, /^devbox: image [0-9a-f]{12} has several names \(twice:1, twice:2\) \(remove them by name, or use --force/);
  assert.is((await suite.devboxOk(['rmi', '-f', Id.slice(0, 12)])).stdout, `Untagged: twice:1\nUntagged: twice:2\nDeleted: sha256:${Id}\n`);
});

test('rmi with one unknown image among known ones changes nothing', async () => {
  await load(['kept:1'], 'kept');
  const before = suite.snapshot();
  const r = await suite.devbox(['rmi', 'kept:1', 'unknown:1']);
  assert.is(r.exitCode, 1);
  assert.is(suite.snapshot(), before);
  await suite.devboxOk(['rmi', 'kept:1']);
});

test('an image a running container uses is refused; with --force it goes, but its layers stay until the container ends', async () => {
  await load(['busy:1'], 'busy');
  const info = await suite.inspect('busy:1');
  const layers = info.RootFS.Layers.map((l) => suite.layerPath(l));
  const running = spawn(process.execPath, [DEVBOX_BIN, 'run', '--rm', 'busy:1', 'sh', '-c', 'echo up; sleep 60'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, XDG_DATA_HOME: join(suite.dir, 'data'), XDG_CONFIG_HOME: join(suite.dir, 'config') },
  });
  try {
    await new Promise((resolve) => running.stdout.once('data', resolve));
    const refused = await suite.devbox(['rmi', 'busy:1']);
    assert.is(refused.exitCode, 1);
    assert.match(refused.stderr, /image "busy:1" \([0-9a-f]{12}\) is in use by a running container/);
    assert.match((await suite.devboxOk(['rmi', '-f', 'busy:1'])).stdout, /^Untagged: busy:1\nDeleted: sha256:/);
    for (const dir of layers) assert.ok(existsSync(dir), 'a layer of a running container was removed');
  } finally {
    running.kill('SIGTERM');
    await new Promise((resolve) => running.once('close', resolve));
  }
  await load(['other:1'], 'other');
  await suite.devboxOk(['rmi', 'other:1']); // collects what the ended container no longer needs
  for (const dir of layers) assert.not.ok(existsSync(dir), 'the layers outlived the container');
});

test.run();
