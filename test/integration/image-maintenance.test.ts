/**
 * Store upkeep commands: tag, history, image prune (dangling or all unused images, and blobs nothing
 * references) and system df, checked against what the store holds.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { createImageSuite, dockerArchive, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, packTar, writeTar } from '../helpers/images.js';

let suite: ImageSuite;
let rootfsTar: string;

const fixtures = once(async () => {
  suite = await createImageSuite('image-maintenance');
  rootfsTar = join(await suite.tempDir('rootfs'), 'rootfs.tar');
  await writeTar(rootfsTar, busyboxRootfs());
});

test.before.each(fixtures);

test.after(async () => {
  await suite?.cleanup();
});

const blobs = () => suite.snapshot().split('\n')[0].split(',').filter(Boolean);

test('tag adds names to an image; a name moves from the image that had it; a digest is refused', async () => {
  await suite.devboxOk(['image', 'import', rootfsTar, 'base:1']);
  await suite.devboxOk(['tag', 'base:1', 'registry.example.com/team/base:1', 'base:latest']);
  const inspect = await suite.inspect('base:1');
  assert.equal(inspect.RepoTags, ['base:1', 'registry.example.com/team/base:1', 'base:latest']);
  const bad = await suite.devbox(['tag', 'base:1', `x@sha256:${'a'.repeat(64)}`]);
  assert.is(bad.exitCode, 125);
  assert.match(bad.stderr, 'cannot tag as');
  await suite.devboxOk(['rmi', 'base:1', 'registry.example.com/team/base:1', 'base:latest']);
});

test('history shows the import step with its comment, the image id on the newest row', async () => {
  await suite.devboxOk(['image', 'import', '--message', 'from a test', rootfsTar, 'hist:1']);
  const { Id } = await suite.inspect('hist:1');
  const rows = JSON.parse((await suite.devboxOk(['history', '--format', 'json', '--no-trunc', 'hist:1'])).stdout);
  assert.is(rows.length, 1);
  assert.is(rows[0].id, `sha256:${Id}`);
  assert.is(rows[0].createdBy, 'devbox import'); // `image import` is its other name
  assert.is(rows[0].comment, 'from a test');
  assert.ok(rows[0].size > 1000);
  await suite.devboxOk(['rmi', 'hist:1']);
});

test('prune removes dangling images and unreferenced blobs; -a also named images no container uses', async () => {
  const archive = join(await suite.tempDir('dangling'), 'dangling.tar');
  writeFileSync(archive, await dockerArchive([{ layers: [await packTar([{ name: 'only-here', content: 'x' }])] }]));
  await suite.devboxOk(['image', 'load', '-i', archive]);
  await suite.devboxOk(['image', 'import', rootfsTar, 'named:1']);
  await suite.devboxOk(['image', 'import', rootfsTar, 'used:1']);
  await suite.devboxOk(['run', 'used:1', 'true']); // a kept container
  const stray = join(suite.storeRoot, 'blobs', 'sha256', 'f'.repeat(64));
  writeFileSync(stray, 'left by an interrupted pull');

  const df = (await suite.devboxOk(['system', 'df'])).stdout.split('\n');
  assert.match(df[1], /^Images\s+3\s+1\s+/);
  assert.match(df[2], /^Containers\s+1\s+0\s+/);

  const pruned = await suite.devboxOk(['image', 'prune', '-f']);
  assert.match(pruned.stdout, /^Deleted Images:\ndeleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: \d/);
  assert.not.ok(blobs().includes('f'.repeat(64)));
  assert.equal(
    JSON.parse((await suite.devboxOk(['images', '--format', 'json'])).stdout)
      .map((i: { Names: string[] }) => i.Names[0])
      .sort(),
    ['docker.io/library/named:1', 'docker.io/library/used:1'],
  );

  const all = await suite.devboxOk(['image', 'prune', '-af']);
  assert.match(all.stdout, 'untagged: named:1');
  assert.not.match(all.stdout, 'used:1');
  assert.equal(JSON.parse((await suite.devboxOk(['images', '--format', 'json'])).stdout).length, 1);
  const again = await suite.devboxOk(['image', 'prune', '-af']);
  assert.is(again.stdout, 'Total reclaimed space: 0B\n');
});

test.run();
