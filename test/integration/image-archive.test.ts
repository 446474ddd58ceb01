/**
 * Image archives both ways with independent implementations: what `podman save` writes loads and runs in
 * devbox, what devbox saves `podman load` accepts with the same layers; plus the archive forms podman does
 * not write (Docker ≥ 25's OCI layout in a docker-archive, skopeo's bare-tag oci-archive, gzip layers).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { DEVBOX_BIN } from '../helpers/cli.js';
import { createImageSuite, dockerArchive, ociArchive, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, packTar, writeTar } from '../helpers/images.js';

let suite: ImageSuite;
let rootfsTar: string;

/**
 * Fixtures, made by the first test that needs them (uvu drops the error of a failing `before` hook, and a
 * missing podman must fail loudly, not as an unexplained 0 of 11).
 */
const fixtures = once(async () => {
  suite = await createImageSuite('image-archive');
  rootfsTar = join(await suite.tempDir('rootfs'), 'rootfs.tar');
  await writeTar(rootfsTar, busyboxRootfs());
  suite.podman(['import', rootfsTar, 'localhost/from-podman:1']);
});

test.before.each(fixtures);

test.after(async () => {
  await suite?.cleanup();
});

for (const format of ['docker-archive', 'oci-archive']) {
  test(`an image saved by podman as ${format} loads under its name and runs`, async () => {
    const archive = join(await suite.tempDir('podman-save'), `${format}.tar`);
    suite.podman(['save', '--format', format, '-o', archive, 'localhost/from-podman:1']);
    const loaded = await suite.devboxOk(['image', 'load', '-i', archive]);
    assert.is(loaded.stdout, 'Loaded image: localhost/from-podman:1\n');
    const podmanLayers = JSON.parse(suite.podman(['image', 'inspect', 'localhost/from-podman:1']))[0].RootFS.Layers;
    assert.equal((await suite.inspect('localhost/from-podman:1')).RootFS.Layers, podmanLayers);
    const r = await suite.devboxOk(['run', '--rm', 'localhost/from-podman:1', 'echo', format]);
    assert.is(r.stdout, `${format}\n`);
    await suite.devboxOk(['rmi', 'localhost/from-podman:1']);
  });
}

for (const format of ['docker-archive', 'oci-archive']) {
  test(`an image saved by devbox as ${format} loads in podman with the same layers and names`, async () => {
    await suite.devboxOk(['image', 'import', rootfsTar, 'to-podman:1']);
    const ours = await suite.inspect('to-podman:1');
    const archive = join(await suite.tempDir('devbox-save'), `${format}.tar`);
    await suite.devboxOk(['image', 'save', '--format', format, '-o', archive, 'to-podman:1']);
    suite.podman(['load', '-i', archive]);
    const theirs = JSON.parse(suite.podman(['image', 'inspect', 'docker.io/library/to-podman:1']))[0];
    assert.equal(theirs.RootFS.Layers, ours.RootFS.Layers);
    assert.is(theirs.Id, ours.Id);
    // Rootful podman on this kind of machine cannot start containers (runc rlimits); rootless is the peer.
    if (process.getuid!() !== 0)
      assert.is(suite.podman(['run', '--rm', '--network', 'host', 'docker.io/library/to-podman:1', 'echo', 'in podman']), 'in podman\n');
    suite.podman(['rmi', 'docker.io/library/to-podman:1']);
  });
}

test('an image imported from a gzip tar keeps its gzip layer, and podman loads it saved as docker-archive', async () => {
  const dir = await suite.tempDir('gzip');
  const gz = join(dir, 'rootfs.tar.gz');
  writeFileSync(gz, gzipSync(await packTar(busyboxRootfs())));
  await suite.devboxOk(['image', 'import', gz, 'gz:1']);
  const manifest = JSON.parse(
    execFileSync('cat', [join(suite.storeRoot, 'blobs', 'sha256', (await suite.inspect('gz:1')).Digest.slice(7))], { encoding: 'utf8' }),
  );
  assert.is(manifest.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  const archive = join(dir, 'gz.tar');
  await suite.devboxOk(['image', 'save', '-o', archive, 'gz:1']);
  suite.podman(['load', '-i', archive]);
  assert.equal(JSON.parse(suite.podman(['image', 'inspect', 'docker.io/library/gz:1']))[0].RootFS.Layers, (await suite.inspect('gz:1')).RootFS.Layers);
  suite.podman(['rmi', 'docker.io/library/gz:1']);
});

test('saving to stdout streams the same archive as saving to a file', async () => {
  await suite.devboxOk(['image', 'import', rootfsTar, 'stream:1']);
  const dir = await suite.tempDir('stdout');
  await suite.devboxOk(['image', 'save', '-o', join(dir, 'file.tar'), 'stream:1']);
  const fd = openSync(join(dir, 'stdout.tar'), 'w');
  execFileSync(process.execPath, [DEVBOX_BIN, 'image', 'save', 'stream:1'], {
    stdio: ['ignore', fd, 'pipe'],
    env: { ...process.env, XDG_DATA_HOME: join(suite.dir, 'data'), XDG_CONFIG_HOME: join(suite.dir, 'config') },
  });
  closeSync(fd);
  assert.is(execFileSync('cmp', [join(dir, 'file.tar'), join(dir, 'stdout.tar')], { encoding: 'utf8' }), '');
});

test('an archive piped into stdin loads', async () => {
  const dir = await suite.tempDir('stdin');
  const archive = join(dir, 'in.tar');
  writeFileSync(archive, await dockerArchive([{ layers: [await packTar(busyboxRootfs())], names: ['piped:1'] }]));
  const fd = openSync(archive, 'r');
  const out = execFileSync(process.execPath, [DEVBOX_BIN, 'image', 'load'], {
    stdio: [fd, 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, XDG_DATA_HOME: join(suite.dir, 'data'), XDG_CONFIG_HOME: join(suite.dir, 'config') },
  });
  closeSync(fd);
  assert.is(out, 'Loaded image: piped:1\n');
});

test("a docker-archive in Docker 25's layout (blobs/sha256 paths and an OCI index) loads", async () => {
  const archive = join(await suite.tempDir('docker25'), 'd25.tar');
  writeFileSync(archive, await dockerArchive([{ layers: [await packTar(busyboxRootfs())], names: ['docker25:1'] }], 'docker25'));
  assert.is((await suite.devboxOk(['image', 'load', '-i', archive])).stdout, 'Loaded image: docker25:1\n');
  assert.is((await suite.devboxOk(['run', '--rm', 'docker25:1', 'echo', 'ok'])).stdout, 'ok\n');
});

test('an oci-archive whose ref name is a bare tag (as skopeo writes it) loads without a name', async () => {
  const dir = await suite.tempDir('skopeo');
  const source = join(dir, 'src.tar');
  writeFileSync(source, await dockerArchive([{ layers: [await packTar([...busyboxRootfs(), { name: 'by-skopeo', content: 'x' }])], names: ['src:1'] }]));
  const archive = join(dir, 'oci.tar');
  execFileSync('skopeo', ['copy', '-q', `docker-archive:${source}`, `oci-archive:${archive}:latest`], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = (await suite.devboxOk(['image', 'load', '-i', archive])).stdout;
  assert.match(out, /^Loaded image ID: sha256:[0-9a-f]{64}\n$/);
  const id = out.trim().split(' ').pop()!;
  assert.equal((await suite.inspect(id)).RepoTags, []);
  assert.is((await suite.devboxOk(['run', '--rm', id, 'cat', '/by-skopeo'])).stdout, 'x');
});

test('a multi-image oci-archive with gzip layers loads every named image', async () => {
  const archive = join(await suite.tempDir('multi'), 'multi.tar');
  const base = gzipSync(await packTar(busyboxRootfs()));
  writeFileSync(
    archive,
    await ociArchive([
      { layers: [base, gzipSync(await packTar([{ name: 'which', content: 'a' }]))], refName: 'localhost/multi:a' },
      { layers: [base, gzipSync(await packTar([{ name: 'which', content: 'b' }]))], refName: 'localhost/multi:b' },
    ]),
  );
  assert.is((await suite.devboxOk(['image', 'load', '-i', archive])).stdout, 'Loaded image: localhost/multi:a\nLoaded image: localhost/multi:b\n');
  for (const which of ['a', 'b']) assert.is((await suite.devboxOk(['run', '--rm', `localhost/multi:${which}`, 'cat', '/which'])).stdout, which);
});

test('a gzip-compressed docker-archive loads', async () => {
  const archive = join(await suite.tempDir('gzarchive'), 'a.tar.gz');
  writeFileSync(archive, gzipSync(await dockerArchive([{ layers: [await packTar(busyboxRootfs())], names: ['gzarchive:1'] }])));
  assert.is((await suite.devboxOk(['image', 'load', '-i', archive])).stdout, 'Loaded image: gzarchive:1\n');
});

test.run();
