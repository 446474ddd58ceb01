/**
 * devbox push against a real registry, checked with independent clients: what devbox pushes podman pulls
 * (and runs, rootless) with the same layers and manifest digest; what podman pushes devbox pulls and runs.
 * A recording proxy shows the protocol: HEAD before upload, cross-repository mounts, chunked uploads.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { createImageSuite, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, writeTar } from '../helpers/images.js';
import { freePort, skopeo, startProxy, startRegistry, type TestProxy, type TestRegistry } from '../helpers/registry.js';

let suite: ImageSuite;
let registry: TestRegistry;
let proxy: TestProxy;
let rootfsTar: string;

const fixtures = once(async () => {
  suite = await createImageSuite('registry-push');
  registry = await startRegistry(await suite.tempDir('registry'));
  proxy = await startProxy(registry.host);
  rootfsTar = join(await suite.tempDir('rootfs'), 'rootfs.tar');
  await writeTar(rootfsTar, busyboxRootfs());
  await suite.devboxOk(['image', 'import', rootfsTar, 'local/app:1']);
});

test.before.each(fixtures);

test.after(async () => {
  await proxy?.stop();
  await registry?.stop();
  await suite?.cleanup();
});

const uploads = (log: string[]) => log.filter((l) => /^(PUT|PATCH|POST) \/v2\/[^ ]*\/blobs\/uploads/.test(l));

test('an image devbox pushes is pulled by podman with the same manifest digest and layers, and runs', async () => {
  const dest = `${registry.host}/team/app:1`;
  const pushed = await suite.devboxOk(['push', 'local/app:1', dest]);
  const ours = await suite.inspect('local/app:1');
  assert.is(pushed.stdout, `1: digest: ${ours.Digest} size: ${pushed.stdout.match(/size: (\d+)/)![1]}\n`);
  assert.is(JSON.parse(await skopeo(['inspect', '--tls-verify=false', `docker://${dest}`])).Digest, ours.Digest);
  suite.podman(['pull', '--tls-verify=false', dest]);
  const theirs = JSON.parse(suite.podman(['image', 'inspect', dest]))[0];
  assert.equal(theirs.RootFS.Layers, ours.RootFS.Layers);
  assert.is(theirs.Id, ours.Id);
  // Rootful podman on this kind of machine cannot start containers (runc rlimits); rootless is the peer.
  if (process.getuid!() !== 0) assert.is(suite.podman(['run', '--rm', '--network', 'host', dest, 'echo', 'in podman']), 'in podman\n');
});

test('pushing again sends no blob; pushing to another repository mounts the blobs', async () => {
  const name = `${proxy.host}/team/app:1`;
  await suite.devboxOk(['tag', 'local/app:1', name]);
  await suite.devboxOk(['push', name]);
  proxy.log.length = 0;
  const again = await suite.devboxOk(['push', name]);
  assert.match(again.stderr, /Copying blob sha256:[0-9a-f]{12}… skipped: already exists/);
  assert.ok(
    proxy.log.some((l) => l.startsWith('HEAD /v2/team/app/blobs/sha256:')),
    proxy.log.join('\n'),
  );
  assert.equal(uploads(proxy.log), []);

  proxy.log.length = 0;
  const mounted = await suite.devboxOk(['push', name, `${proxy.host}/other/copy:2`]);
  assert.match(mounted.stderr, 'mounted from team/app');
  const posts = uploads(proxy.log);
  assert.ok(
    posts.length > 0 && posts.every((l) => /^POST \/v2\/other\/copy\/blobs\/uploads\/\?mount=sha256%3A[0-9a-f]{64}&from=team%2Fapp$/.test(l)),
    posts.join('\n'),
  );
  assert.is(JSON.parse(await skopeo(['inspect', '--tls-verify=false', `docker://${registry.host}/other/copy:2`])).Digest, (await suite.inspect(name)).Digest);
});

test('a blob larger than one chunk goes up in chunks and comes back intact', async () => {
  const dir = await suite.tempDir('big');
  const tar = join(dir, 'big.tar');
  await writeTar(tar, [...busyboxRootfs(), { name: 'big.bin', content: randomBytes(20 << 20) }]);
  await suite.devboxOk(['image', 'import', tar, `${proxy.host}/big:1`]);
  proxy.log.length = 0;
  await suite.devboxOk(['push', '-q', `${proxy.host}/big:1`]);
  assert.ok(uploads(proxy.log).filter((l) => l.startsWith('PATCH')).length >= 2, proxy.log.join('\n'));
  const id = (await suite.inspect(`${proxy.host}/big:1`)).Id;
  await suite.devboxOk(['rmi', `${proxy.host}/big:1`]);
  const pulled = await suite.devboxOk(['pull', '-q', `${registry.host}/big:1`]);
  assert.is(pulled.stdout, `${id}\n`);
  assert.is((await suite.devboxOk(['run', '--rm', `${registry.host}/big:1`, 'wc', '-c', '/big.bin'])).stdout.trim(), `${20 << 20} /big.bin`);
});

test('an image podman pushes is pulled and run by devbox', async () => {
  suite.podman(['import', rootfsTar, 'localhost/from-podman:1']);
  suite.podman(['push', '--tls-verify=false', 'localhost/from-podman:1', `docker://${registry.host}/from-podman:1`]);
  await suite.devboxOk(['pull', '-q', `${registry.host}/from-podman:1`]);
  assert.is((await suite.devboxOk(['run', '--rm', `${registry.host}/from-podman:1`, 'echo', 'pushed by podman'])).stdout, 'pushed by podman\n');
  const podmanLayers = JSON.parse(suite.podman(['image', 'inspect', 'localhost/from-podman:1']))[0].RootFS.Layers;
  assert.equal((await suite.inspect(`${registry.host}/from-podman:1`)).RootFS.Layers, podmanLayers);
});

test('push errors are one line naming the destination', async () => {
  const unknown = await suite.devbox(['push', 'no/such:image', `${registry.host}/x:1`]);
  assert.is(unknown.exitCode, 1);
  assert.match(unknown.stderr, 'unknown image "no/such:image"');
  const closed = await freePort();
  const unreachable = await suite.devbox(['push', 'local/app:1', `127.0.0.1:${closed}/x:1`]);
  assert.is(unreachable.exitCode, 1);
  assert.is(
    unreachable.stderr.trim().split('\n').pop(),
    `devbox: cannot push 127.0.0.1:${closed}/x:1: cannot reach 127.0.0.1:${closed}: connection refused (ECONNREFUSED)`,
  );
  const digest = await suite.devbox(['push', 'local/app:1', `${registry.host}/x@sha256:${'a'.repeat(64)}`]);
  assert.is(digest.exitCode, 1);
  assert.match(digest.stderr, 'cannot push to a digest');
});

test.run();
