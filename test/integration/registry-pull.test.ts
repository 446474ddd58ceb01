/**
 * devbox pull against a real registry (docker-registry on 127.0.0.1) seeded by skopeo: single images, a
 * manifest list with platform selection, pull by digest, pull on `devbox run`, mirrors with fallback, and
 * the one-line errors for what a registry can answer, each leaving the store as it was.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { createImageSuite, dockerArchive, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, packTar } from '../helpers/images.js';
import { freePort, registryApi, seedImage, sha256, startProxy, startRegistry, type TestProxy, type TestRegistry } from '../helpers/registry.js';

let suite: ImageSuite;
let registry: TestRegistry;
const proxies: TestProxy[] = [];

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Seeds REPO:TAG with busybox plus a layer holding /etc/marker = `marker`, via a docker-archive and skopeo. */
async function seed(repoTag: string, marker: string, config: Record<string, unknown> = {}, compression?: 'zstd'): Promise<void> {
  const archive = join(await suite.tempDir('seed'), 'image.tar');
  const layers = [await packTar(busyboxRootfs()), await packTar([{ name: 'etc/marker', content: `${marker}\n` }])];
  writeFileSync(archive, await dockerArchive([{ layers, names: [repoTag], config: { Cmd: ['cat', '/etc/marker'], ...config } }]));
  await seedImage(archive, `${registry.host}/${repoTag}`, undefined, compression);
}

async function manifestOf(repo: string, tag: string): Promise<{ digest: string; size: number; body: Buffer }> {
  const res = await registryApi(registry.host, `${repo}/manifests/${tag}`, {
    headers: { Accept: `${OCI_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json` },
  });
  assert.is(res.status, 200, `manifest ${repo}:${tag}`);
  const body = Buffer.from(await res.arrayBuffer());
  return { digest: sha256(body), size: body.length, body };
}

/** Puts an OCI index over two seeded images, as `docker buildx` pushes multi-platform images. */
async function pushIndex(repo: string, tag: string, entries: { tag: string; platform: Record<string, string> }[]): Promise<string> {
  const manifests = [];
  for (const e of entries) {
    const m = await manifestOf(repo, e.tag);
    manifests.push({ mediaType: JSON.parse(m.body.toString()).mediaType ?? OCI_MANIFEST, digest: m.digest, size: m.size, platform: e.platform });
  }
  const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });
  const res = await registryApi(registry.host, `${repo}/manifests/${tag}`, { method: 'PUT', headers: { 'Content-Type': OCI_INDEX }, body });
  assert.is(res.status, 201, await res.text());
  return sha256(body);
}

const fixtures = once(async () => {
  suite = await createImageSuite('registry-pull');
  registry = await startRegistry(await suite.tempDir('registry'));
  await seed('team/app:1', 'app one');
  await seed('multi:amd64', 'amd64');
  await seed('multi:arm64', 'arm64', { Env: ['ARCH=arm64'] });
  await seed('zstd:1', 'zstd layers', {}, 'zstd');
});

test.before.each(fixtures);

test.after(async () => {
  for (const p of proxies) await p.stop();
  await registry?.stop();
  await suite?.cleanup();
});

const run = (ref: string, ...cmd: string[]) => suite.devboxOk(['run', '--rm', '--pull', 'never', ref, ...cmd]).then((r) => r.stdout);

test('pulls a single-platform image: the id on stdout, the manifest as the registry has it, layers that run', async () => {
  const ref = `${registry.host}/team/app:1`;
  const pulled = await suite.devboxOk(['pull', ref]);
  const manifest = await manifestOf('team/app', '1');
  const configDigest = JSON.parse(manifest.body.toString()).config.digest;
  assert.is(pulled.stdout, `${configDigest.slice(7)}\n`);
  assert.match(pulled.stderr, `Trying to pull ${ref}...`);
  const inspect = await suite.inspect(ref);
  assert.is(inspect.Digest, manifest.digest);
  assert.is(inspect.Id, configDigest.slice(7));
  assert.is(await run(ref), 'app one\n');
});

test("an image's size is its layers uncompressed, as docker and podman show it, not the compressed blobs", async () => {
  const ref = `${registry.host}/team/app:1`;
  await suite.devboxOk(['pull', '-q', ref]);
  const manifest = JSON.parse((await manifestOf('team/app', '1')).body.toString()) as { layers: { size: number }[] };
  const compressed = manifest.layers.reduce((n, l) => n + l.size, 0);
  const uncompressed = (await packTar(busyboxRootfs())).length + (await packTar([{ name: 'etc/marker', content: 'app one\n' }])).length;
  assert.ok(compressed < uncompressed, 'the registry has them gzipped');
  const inspect = (await suite.inspect(ref)) as unknown as { Id: string; Size: number };
  assert.is(inspect.Size, uncompressed);
  const listed = JSON.parse((await suite.devboxOk(['images', '--json'])).stdout) as { Id: string; Size: number }[];
  assert.is(listed.find((i) => i.Id === `sha256:${inspect.Id}`)?.Size, uncompressed);
});

test('a second pull downloads nothing: every blob is already stored', async () => {
  const ref = `${registry.host}/team/app:1`;
  await suite.devboxOk(['pull', ref]);
  const before = suite.snapshot();
  const again = await suite.devboxOk(['pull', ref]);
  assert.match(again.stderr, /Copying blob sha256:[0-9a-f]{12}… skipped: already exists/);
  assert.not.match(again.stderr, /Copying blob sha256:[0-9a-f]{12}… done/);
  assert.is(suite.snapshot(), before);
});

test('pulls by digest: the image is stored under that digest', async () => {
  const { digest } = await manifestOf('team/app', '1');
  const ref = `${registry.host}/team/app@${digest}`;
  await suite.devboxOk(['pull', '-q', ref]);
  assert.is(await run(ref), 'app one\n');
});

test('zstd layers (skopeo --dest-compress-format zstd) are verified, unpacked and run; push keeps them as they are', async () => {
  const manifest = JSON.parse((await manifestOf('zstd', '1')).body.toString());
  // skopeo may reuse a gzip layer the registry already has; the marker layer is new, so zstd.
  assert.ok(
    manifest.layers.some((l: { mediaType: string }) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+zstd'),
    JSON.stringify(manifest.layers),
  );
  const ref = `${registry.host}/zstd:1`;
  await suite.devboxOk(['pull', '-q', ref]);
  assert.is(await run(ref), 'zstd layers\n');
  await suite.devboxOk(['push', ref, `${registry.host}/zstd:copy`]);
  assert.equal(JSON.parse((await manifestOf('zstd', 'copy')).body.toString()).layers, manifest.layers);
});

test('a manifest list gives the host platform by default, another with --platform, an error for none', async () => {
  const indexDigest = await pushIndex('multi', 'latest', [
    { tag: 'arm64', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    { tag: 'amd64', platform: { os: 'linux', architecture: 'amd64' } },
  ]);
  const ref = `${registry.host}/multi:latest`;
  await suite.devboxOk(['pull', '-q', ref]);
  assert.is(await run(ref), 'amd64\n');
  assert.is((await suite.inspect(ref)).Digest, (await manifestOf('multi', 'amd64')).digest);
  await suite.devboxOk(['pull', '-q', '--platform', 'linux/arm64', ref]);
  assert.is(await run(ref), 'arm64\n');
  assert.is(await run(ref, 'sh', '-c', 'echo $ARCH'), 'arm64\n');
  // the index digest names the image it was pulled through
  assert.is(await run(`${registry.host}/multi@${indexDigest}`), 'arm64\n');

  const before = suite.snapshot();
  const none = await suite.devbox(['pull', '--platform', 'linux/s390x', ref]);
  assert.is(none.exitCode, 1);
  assert.is(
    none.stderr.trim().split('\n').pop(),
    `devbox: cannot pull ${ref}: no image for linux/s390x (the image has linux/arm64/v8, linux/amd64) (choose one with --platform)`,
  );
  assert.is(suite.snapshot(), before);
});

test('devbox run pulls a missing image; --pull never refuses to', async () => {
  await seed('run-me:1', 'pulled by run');
  const ref = `${registry.host}/run-me:1`;
  const never = await suite.devbox(['run', '--rm', '--pull', 'never', ref]);
  assert.is(never.exitCode, 125);
  assert.match(never.stderr, `unknown image "${ref}"`);
  const r = await suite.devboxOk(['run', '--rm', ref]);
  assert.is(r.stdout, 'pulled by run\n');
  assert.match(r.stderr, `Trying to pull ${ref}...`);
  const closed = `127.0.0.1:${await freePort()}/app:1`;
  const failed = await suite.devbox(['run', '--rm', closed]);
  assert.is(failed.exitCode, 125);
  assert.match(failed.stderr.trim().split('\n').pop()!, `devbox: cannot pull ${closed}: cannot reach`);
});

test('registry errors are one line naming the reference, with a non-zero exit and the store unchanged', async () => {
  await suite.devboxOk(['pull', '-q', `${registry.host}/team/app:1`]);
  const before = suite.snapshot();
  const unknown = await suite.devbox(['pull', `${registry.host}/nothing/here:1`]);
  assert.is(unknown.exitCode, 1);
  assert.is(unknown.stderr.trim().split('\n').pop(), `devbox: cannot pull ${registry.host}/nothing/here:1: 404 manifest unknown (check the name and the tag)`);
  assert.not.match(unknown.stderr, /\n\s+at /);

  const closed = await freePort();
  const unreachable = await suite.devbox(['pull', `127.0.0.1:${closed}/app:1`]);
  assert.is(unreachable.exitCode, 1);
  assert.match(unreachable.stderr, `devbox: cannot pull 127.0.0.1:${closed}/app:1: cannot reach 127.0.0.1:${closed}: connection refused (ECONNREFUSED)`);

  // An artifact (not a container image) by its config media type
  const config = '{"kind":"not an image"}';
  const upload = await registryApi(registry.host, 'artifact/blobs/uploads/', { method: 'POST' });
  const location = new URL(upload.headers.get('location')!, `http://${registry.host}`);
  location.searchParams.set('digest', sha256(config));
  assert.is((await fetch(location, { method: 'PUT', body: config })).status, 201);
  const artifact = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.example.thing.config.v1+json', digest: sha256(config), size: config.length },
    layers: [],
  });
  assert.is(
    (await registryApi(registry.host, 'artifact/manifests/1', { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: artifact })).status,
    201,
  );
  const unsupported = await suite.devbox(['pull', `${registry.host}/artifact:1`]);
  assert.is(unsupported.exitCode, 1);
  assert.match(unsupported.stderr, `cannot pull ${registry.host}/artifact:1: unsupported media type application/vnd.example.thing.config.v1+json (config)`);
  assert.is(suite.snapshot(), before);
});

test('mirrors are tried in order, and the registry itself when they fail', async () => {
  await seed('mirrored:1', 'via mirror');
  const mirror = await startProxy(registry.host);
  proxies.push(mirror);
  const dead = `127.0.0.1:${await freePort()}`;
  const setMirrors = (list: string[]) => suite.devboxOk(['config', 'set', 'registryMirrors', JSON.stringify({ [registry.host]: list })]);
  try {
    await setMirrors([dead, `${mirror.host}/`]);
    const ref = `${registry.host}/mirrored:1`;
    const pulled = await suite.devboxOk(['pull', ref]);
    assert.match(pulled.stderr, `Mirror ${dead} failed`);
    assert.ok(
      mirror.log.some((l) => /^GET \/v2\/mirrored\/blobs\/sha256:/.test(l)),
      mirror.log.join('\n'),
    );
    assert.is(await run(ref), 'via mirror\n');
    await suite.devboxOk(['rmi', ref]);

    await setMirrors([dead]);
    mirror.log.length = 0;
    await suite.devboxOk(['pull', '-q', ref]);
    assert.is(await run(ref), 'via mirror\n');
    assert.equal(mirror.log, []);
  } finally {
    await suite.devboxOk(['config', 'unset', 'registryMirrors']);
  }
});

test.run();
