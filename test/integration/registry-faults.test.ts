/**
 * What a broken registry or network does to a pull: a flipped byte, a blob cut short or reset midway, a 503,
 * a pull killed while a layer streams. Transient breaks are retried, resuming with a range request; the rest
 * is refused with the store as it was (nothing half-written), and the next pull from a sound source works.
 * A proxy in front of a real registry does the breaking.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { DEVBOX_BIN } from '../helpers/cli.js';
import { createImageSuite, dockerArchive, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, packTar } from '../helpers/images.js';
import { registryApi, seedImage, sha256, startProxy, startRegistry, type ProxyMode, type TestProxy, type TestRegistry } from '../helpers/registry.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

let suite: ImageSuite;
let registry: TestRegistry;
let proxy: TestProxy;

const fixtures = once(async () => {
  suite = await createImageSuite('registry-faults');
  registry = await startRegistry(await suite.tempDir('registry'));
  proxy = await startProxy(registry.host);
  const archive = join(await suite.tempDir('seed'), 'image.tar');
  const layers = [await packTar(busyboxRootfs()), await packTar([{ name: 'etc/marker', content: 'sound\n' }])];
  writeFileSync(archive, await dockerArchive([{ layers, names: ['app:1'], config: { Cmd: ['cat', '/etc/marker'] } }]));
  await seedImage(archive, `${registry.host}/app:1`);
});

test.before.each(fixtures);

test.after(async () => {
  await proxy?.stop();
  await registry?.stop();
  await suite?.cleanup();
});

/** Pulls app:1 through the proxy in `mode`; returns the result, the store before and after, and the requests. */
async function pullThrough(mode: ProxyMode) {
  proxy.mode = mode;
  proxy.log.length = 0;
  const before = suite.snapshot();
  const result = await suite.devbox(['pull', `${proxy.host}/app:1`]);
  proxy.mode = 'pass';
  return { result, before, after: suite.snapshot(), requests: proxy.log.filter((l) => l.startsWith('GET /v2/app/blobs/')) };
}

/** A pull that completed despite the proxy: the image runs; then it is removed again, blobs and layers too. */
async function completedAndRemoved(result: { exitCode: number; stderr: string }, before: string): Promise<void> {
  try {
    assert.is(result.exitCode, 0, result.stderr);
    assert.is((await suite.devboxOk(['run', '--rm', `${proxy.host}/app:1`])).stdout, 'sound\n');
  } finally {
    await suite.devbox(['rmi', `${proxy.host}/app:1`]); // whatever happened: the next test pulls into an empty store
  }
  const contents = (snapshot: string) => snapshot.split('\n').slice(0, 3).join('\n'); // blobs, layers, temp files
  assert.is(contents(suite.snapshot()), contents(before));
}

/** The retry notes a pull printed. */
const retries = (stderr: string) => stderr.split('\n').filter((l) => /^devbox: note: blob sha256:[0-9a-f]{12}…: .*; retrying in [\d.]+ s \(\d of 3\)$/.test(l));

test('a blob with a flipped byte is refused: digest mismatch named, nothing stored', async () => {
  const { result, before, after } = await pullThrough('flip-byte');
  assert.is(result.exitCode, 1);
  const line = result.stderr.trim().split('\n').pop()!;
  assert.match(line, new RegExp(`^devbox: cannot pull ${proxy.host}/app:1: blob sha256:[0-9a-f]{64}: content does not match its digest \\(got sha256:`));
  assert.is(after, before);
});

// The proxy breaks the busybox layer (the other layer and the config are too small to count as layers).

test('a blob cut short is resumed with a range request from where it broke off', async () => {
  const { result, before, requests } = await pullThrough('truncate');
  const [retry] = retries(result.stderr);
  assert.ok(retry, result.stderr);
  const received = /broke off after (\d+) of/.exec(retry)?.[1];
  assert.ok(
    requests.some((l) => l.endsWith(`(Range: bytes=${received}-)`)),
    requests.join('\n'),
  );
  await completedAndRemoved(result, before);
});

test('a connection reset mid-blob is retried and resumed', async () => {
  const { result, before, requests } = await pullThrough('reset-once');
  assert.match(retries(result.stderr)[0], /the transfer broke off after \d+ of \d+ bytes \(connection reset \(ECONNRESET\)\); retrying in 0\.25 s \(1 of 3\)$/);
  assert.is(requests.filter((l) => l.includes('(Range: bytes=')).length, 1, requests.join('\n'));
  await completedAndRemoved(result, before);
});

test('a registry that ignores Range sends the whole blob again: what had arrived is read past, the unpack goes on', async () => {
  const { result, before, requests } = await pullThrough('reset-once-no-range');
  assert.is(retries(result.stderr).length, 1, result.stderr);
  assert.is(requests.length, 4, requests.join('\n')); // config, two layers, the broken one again
  await completedAndRemoved(result, before);
});

test('a 503 is retried', async () => {
  const { result, before, requests } = await pullThrough('unavailable-once');
  assert.is(retries(result.stderr).length, 3, result.stderr); // every blob once
  assert.match(retries(result.stderr)[0], /: 503 unavailable: try again; retrying in 0\.25 s \(1 of 3\)$/);
  assert.is(requests.length, 6, requests.join('\n'));
  await completedAndRemoved(result, before);
});

test('a transfer that keeps breaking gives up after three retries: the break named, nothing stored', async () => {
  const { result, before, after } = await pullThrough('truncate-always');
  assert.is(result.exitCode, 1);
  assert.is(retries(result.stderr).length, 3, result.stderr);
  const line = result.stderr.trim().split('\n').pop()!;
  assert.match(
    line,
    new RegExp(`^devbox: cannot pull ${proxy.host}/app:1: blob sha256:[0-9a-f]{12}…: the transfer broke off after \\d+ of \\d+ bytes`),
    result.stderr,
  );
  assert.is(after, before);
});

/** Puts `body` into repository `repo` of the registry as a blob; its descriptor. */
async function pushBlob(repo: string, mediaType: string, body: Buffer | string) {
  const upload = await registryApi(registry.host, `${repo}/blobs/uploads/`, { method: 'POST' });
  const location = new URL(upload.headers.get('location')!, `http://${registry.host}`);
  location.searchParams.set('digest', sha256(body));
  assert.is((await fetch(location, { method: 'PUT', body: new Uint8Array(Buffer.from(body)) })).status, 201);
  return { mediaType, digest: sha256(body), size: Buffer.byteLength(body) };
}

/** A pull of `ref` fails with status 1, its last line matching `line`, no stack trace, the store as it was. */
async function assertPullRefused(ref: string, line: RegExp): Promise<void> {
  const before = suite.snapshot();
  const result = await suite.devbox(['pull', ref]);
  assert.is(result.exitCode, 1);
  assert.match(result.stderr.trim().split('\n').pop()!, line);
  assert.not.match(result.stderr, /\n\s+at /);
  assert.is(suite.snapshot(), before);
}

/** A one-layer busybox image (a gzip layer) pushed as REPO:1, its config listing `diffIds`. */
async function pushOneLayerImage(repo: string, diffIds: string[]): Promise<void> {
  const layer = await pushBlob(repo, 'application/vnd.oci.image.layer.v1.tar+gzip', gzipSync(await packTar(busyboxRootfs())));
  const configBody = JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } });
  const config = await pushBlob(repo, 'application/vnd.oci.image.config.v1+json', configBody);
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] });
  const put = await registryApi(registry.host, `${repo}/manifests/1`, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: manifest });
  assert.is(put.status, 201);
}

test("a gzip layer whose tar is not the config's diffID is refused in one line (the extractor hashes it), nothing stored", async () => {
  const claimed = `sha256:${'0'.repeat(64)}`;
  await pushOneLayerImage('wrong-diffid', [claimed]);
  await assertPullRefused(
    `${registry.host}/wrong-diffid:1`,
    new RegExp(
      `^devbox: cannot pull ${registry.host}/wrong-diffid:1: layer sha256:[0-9a-f]{12}…: its content is sha256:[0-9a-f]{64}, but the image config says ${claimed}`,
    ),
  );
});

test('a config without a diffID for each layer is refused in one line, nothing stored (its layer downloads beside it)', async () => {
  await pushOneLayerImage('no-diffid', []);
  await assertPullRefused(
    `${registry.host}/no-diffid:1`,
    new RegExp(
      `^devbox: cannot pull ${registry.host}/no-diffid:1: the image config sha256:[0-9a-f]{12}… does not list one sha256 diffID per layer of its manifest \\(1\\)$`,
    ),
  );
});

test('a pull killed while a layer streams leaves no image and no layer in place; the next pull completes', async () => {
  proxy.mode = 'stall';
  const stalled = proxy.nextStall();
  const child = spawn(process.execPath, [DEVBOX_BIN, 'pull', `${proxy.host}/app:1`], {
    env: { ...process.env, XDG_DATA_HOME: join(suite.dir, 'data'), XDG_CONFIG_HOME: join(suite.dir, 'config') },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await stalled;
  child.kill('SIGKILL');
  await exited;
  proxy.mode = 'pass';
  const killed = suite.snapshot();
  assert.not.match(killed, /app:1/);
  assert.match(killed.split('\n')[2], /blob-/); // it was killed mid-download
  const r = await suite.devboxOk(['pull', '-q', `${proxy.host}/app:1`]);
  assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
  const run = await suite.devboxOk(['run', '--rm', `${proxy.host}/app:1`]);
  assert.is(run.stdout, 'sound\n');
  const [, layers, temps] = suite.snapshot().split('\n');
  assert.not.match(temps, /blob-/); // the killed pull's temp file and half-unpacked layer were cleared
  assert.not.match(layers, /\.tmp-/);
});

test.run();
