/**
 * Bad input to the image commands: each gives one line on stderr and a non-zero status, and leaves the
 * store exactly as it was (no blob, no half-unpacked layer, nothing in tmp/, the same index), with an
 * image already in it that the clean-up after the failure must not touch.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { createImageSuite, dockerArchive, ociArchive, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, packTar, writeTar } from '../helpers/images.js';

let suite: ImageSuite;
let busyboxLayer: Buffer;

/** Fixtures, made before the first test (a failing `before` hook's error would be lost in uvu). */
const fixtures = once(async () => {
  suite = await createImageSuite('image-errors');
  busyboxLayer = await packTar(busyboxRootfs());
  const rootfs = join(await suite.tempDir('rootfs'), 'rootfs.tar');
  writeFileSync(rootfs, busyboxLayer);
  await suite.devboxOk(['image', 'import', rootfs, 'present:1']);
});

test.before.each(fixtures);

test.after(async () => {
  await suite?.cleanup();
});

/** Replaces the first occurrence of `from` in `data` by `to` (same length). */
function patch(data: Buffer, from: string, to: string): Buffer {
  const at = data.indexOf(from);
  if (at < 0 || from.length !== to.length) throw new Error(`cannot patch "${from}"`);
  const copy = Buffer.from(data);
  copy.write(to, at);
  return copy;
}

type Case = [what: string, file: () => Promise<Buffer | undefined>, command: (path: string) => string[], exitCode: number, message: RegExp];

const tarOfText = async () => Buffer.from('this is not a tar archive at all\n'.repeat(100));
const truncatedTar = async () => busyboxLayer.subarray(0, Math.floor(busyboxLayer.length / 2) + 100);
const gzipped = () => gzipSync(busyboxLayer);

const cases: Case[] = [
  ['import of an empty file', async () => Buffer.alloc(0), (p) => ['image', 'import', p, 'bad:1'], 1, /bad\.tar is empty, not a tar archive/],
  ['import of a file that is not a tar', tarOfText, (p) => ['image', 'import', p, 'bad:1'], 1, /bad\.tar: not a tar archive \(invalid tar header\)/],
  ['import of a truncated tar', truncatedTar, (p) => ['image', 'import', p, 'bad:1'], 1, /bad\.tar: the tar archive is truncated/],
  ['import of a truncated gzip tar', async () => gzipped().subarray(0, 5000), (p) => ['image', 'import', p, 'bad:1'], 1, /bad\.tar: .*gzip data/],
  [
    'import of corrupt gzip data',
    async () => Buffer.concat([gzipped().subarray(0, 40), Buffer.alloc(4000, 0x55)]),
    (p) => ['image', 'import', p, 'bad:1'],
    1,
    /bad\.tar: corrupt gzip data \(.+\)/,
  ],
  [
    'import of a truncated zstd tar',
    async () => Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]),
    (p) => ['image', 'import', p, 'bad:1'],
    1,
    /bad\.tar: truncated zstd data/,
  ],
  [
    'import of an xz tar',
    async () => Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0]),
    (p) => ['image', 'import', p, 'bad:1'],
    1,
    /bad\.tar is xz-compressed, which image layers cannot be/,
  ],
  ['import of a file that does not exist', async () => undefined, (p) => ['image', 'import', p, 'bad:1'], 1, /cannot read .*bad\.tar: .*ENOENT/],
  [
    'import under an invalid name',
    async () => busyboxLayer,
    (p) => ['image', 'import', p, 'Bad:Name'],
    125,
    /invalid reference "Bad:Name": "Bad" must be lowercase/,
  ],
  ['load of a file that is not a tar', tarOfText, (p) => ['image', 'load', '-i', p], 1, /bad\.tar: not a tar archive/],
  [
    'load of a truncated archive',
    async () => (await dockerArchive([{ layers: [busyboxLayer], names: ['t:1'] }])).subarray(0, 700_000),
    (p) => ['image', 'load', '-i', p],
    1,
    /bad\.tar: the tar archive is truncated/,
  ],
  [
    'load of a tar that is no image archive',
    async () => packTar([{ name: 'README', content: 'hello' }]),
    (p) => ['image', 'load', '-i', p],
    1,
    /bad\.tar: not a docker-archive or oci-archive \(it has no manifest\.json or index\.json\)/,
  ],
  [
    'load of a docker-archive whose config does not match its digest',
    async () => patch(await dockerArchive([{ layers: [busyboxLayer], names: ['c:1'], config: { User: 'root' } }]), '"User":"root"', '"User":"evil"'),
    (p) => ['image', 'load', '-i', p],
    1,
    /bad\.tar: config sha256:[0-9a-f]{64}: content does not match its digest/,
  ],
  [
    'load of a layer whose content does not match the diffID in the config',
    async () => dockerArchive([{ layers: [busyboxLayer], names: ['d:1'], diffIDs: [`sha256:${'0'.repeat(64)}`] }]),
    (p) => ['image', 'load', '-i', p],
    1,
    /bad\.tar: layer sha256:[0-9a-f]{12}…: its content is sha256:[0-9a-f]{64}, but the image config says sha256:0{64}/,
  ],
  [
    'load of an oci-archive with a tampered layer blob',
    async () => patch(await ociArchive([{ layers: [busyboxLayer], refName: 'localhost/o:1' }]), 'alice:x:1000', 'mallo:x:1000'),
    (p) => ['image', 'load', '-i', p],
    1,
    /bad\.tar: layer sha256:[0-9a-f]{64}: content does not match its digest/,
  ],
  [
    'load of a docker-archive whose manifest names a missing layer',
    async () => {
      const good = JSON.stringify([{ Config: 'c.json', RepoTags: ['m:1'], Layers: ['nowhere/layer.tar'] }]);
      return packTar([
        { name: 'c.json', content: JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${'1'.repeat(64)}`] } }) },
        { name: 'manifest.json', content: good },
      ]);
    },
    (p) => ['image', 'load', '-i', p],
    1,
    /bad\.tar: the archive has no "nowhere\/layer\.tar"/,
  ],
  [
    'load of an archive whose gzip layer is corrupt past its first bytes',
    async () =>
      dockerArchive([
        { layers: [Buffer.concat([gzipped().subarray(0, 2000), Buffer.alloc(8000, 0x55)])], names: ['z:1'], diffIDs: [`sha256:${'2'.repeat(64)}`] },
      ]),
    (p) => ['image', 'load', '-i', p],
    1,
    /bad\.tar: layer sha256:[0-9a-f]{12}…: (corrupt gzip data \(.+\)|truncated gzip data)/,
  ],
  [
    'load of an archive with a hostile layer',
    async () => dockerArchive([{ layers: [await packTar([{ name: '../../escape', content: 'x' }])], names: ['h:1'] }]),
    (p) => ['image', 'load', '-i', p],
    1,
    /bad\.tar: layer sha256:[0-9a-f]{12}…: entry "..\/..\/escape" escapes the layer directory/,
  ],
  [
    'run of an unknown image',
    async () => undefined,
    () => ['run', '--rm', '--pull', 'never', 'nope:1', 'true'],
    125,
    /unknown image "nope:1" \(see "devbox images"; load one with/,
  ],
  ['inspect of an unknown image', async () => undefined, () => ['image', 'inspect', 'nope:1'], 1, /unknown image "nope:1"/],
  ['rmi of an unknown image', async () => undefined, () => ['rmi', 'nope:1'], 1, /unknown image "nope:1"/],
  ['save of an unknown image', async () => undefined, (p) => ['image', 'save', '-o', p, 'nope:1'], 1, /unknown image "nope:1"/],
];

for (const [what, file, command, exitCode, message] of cases) {
  test(`${what}: one line, status ${exitCode}, store unchanged`, async () => {
    const path = join(await suite.tempDir('bad'), 'bad.tar');
    const data = await file();
    if (data) writeFileSync(path, data);
    const before = suite.snapshot();
    const r = await suite.devbox(command(path));
    assert.is(r.exitCode, exitCode, r.stderr);
    assert.is(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.match(r.stderr, /^devbox: /);
    assert.match(r.stderr, message);
    assert.is(suite.snapshot(), before);
    if (command(path)[1] === 'save') assert.not.ok(existsSync(path), 'save left a file');
  });
}

test('the image in the store still runs after all that', async () => {
  assert.is((await suite.devboxOk(['run', '--rm', 'present:1', 'echo', 'fine'])).stdout, 'fine\n');
});

test('a half-written temp file and a half-unpacked layer left by a crash are cleaned up by the next import', async () => {
  const tmp = join(suite.storeRoot, 'tmp', 'blob-0123456789ab');
  writeFileSync(tmp, 'partial');
  const layers = join(suite.layerPath(`sha256:${'0'.repeat(64)}`), '..');
  const halfLayer = join(layers, '.tmp-0123456789ab');
  const orphan = join(layers, 'f'.repeat(64));
  for (const dir of [halfLayer, orphan]) {
    await suite.devboxOk(['run', '--rm', '-v', `${layers}:/layers`, 'present:1', 'mkdir', '-p', `/layers/${dir.slice(layers.length + 1)}/sub`]);
  }
  const rootfs = join(await suite.tempDir('after-crash'), 'rootfs.tar');
  await writeTar(rootfs, [...busyboxRootfs(), { name: 'new', content: 'n' }]);
  await suite.devboxOk(['image', 'import', rootfs, 'after-crash:1']);
  assert.not.ok(existsSync(tmp), 'the stale temp file is still there');
  assert.not.ok(existsSync(halfLayer), 'the half-unpacked layer is still there');
  assert.not.ok(existsSync(orphan), 'the layer without a record is still there');
  await suite.devboxOk(['rmi', 'after-crash:1']);
});

test.run();
