import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { decompressed, describeStreamError, detectCompression, extractorInput } from '../../src/image/layer-stream.js';
import { rejectionOf } from '../helpers/errors.js';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function rejects(fn: () => Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await fn();
  } catch (error) {
    assert.match((error as Error).message, message);
    return;
  }
  assert.unreachable(`no error; expected ${message}`);
}

test('compression is told by magic bytes', () => {
  assert.is(detectCompression(gzipSync('x')), 'gzip');
  assert.is(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])), 'zstd');
  assert.is(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), 'xz');
  assert.is(detectCompression(Buffer.from('BZh91AY')), 'bzip2');
  assert.is(detectCompression(Buffer.from('etc/passwd\0\0\0')), 'none');
  assert.is(detectCompression(Buffer.alloc(0)), 'none');
});

test('a gzip stream is decompressed, even when it arrives one byte at a time', async () => {
  const data = Buffer.from('hello layer'.repeat(100));
  const gz = gzipSync(data);
  const bytes = [...gz].map((b) => Buffer.from([b]));
  assert.ok((await collect(await decompressed(Readable.from(bytes)))).equals(data));
});

test('a plain stream passes through unchanged', async () => {
  const data = Buffer.from('plain tar bytes');
  assert.ok((await collect(await decompressed(Readable.from([data])))).equals(data));
});

/** zstd-compressed by the zstd program (Debian's zstd), not by the decoder under test. */
function zstd(data: Buffer): Buffer {
  const r = spawnSync('zstd', ['-q', '-c', '-3'], { input: data });
  assert.is(r.status, 0, String(r.stderr));
  return r.stdout;
}

test('a zstd stream is decompressed, in one piece and one byte at a time', async () => {
  const data = Buffer.concat(Array.from({ length: 2000 }, (_, i) => Buffer.from(`line ${i} of a zstd layer\n`)));
  const compressed = zstd(data);
  assert.ok((await collect(await decompressed(Readable.from([compressed])))).equals(data));
  assert.ok((await collect(await decompressed(Readable.from([...compressed].map((b) => Buffer.from([b])))))).equals(data));
});

/** A zstd frame written by hand: `header` (descriptor and what follows it), then one raw block of "hello". */
const frame = (...header: number[]) => Buffer.from([0x28, 0xb5, 0x2f, 0xfd, ...header, 0x29, 0x00, 0x00, ...Buffer.from('hello')]);

test('a zstd frame that asks for more than 128 MiB of window is refused, as the zstd tool refuses it by default', async () => {
  const cases: [string, Buffer, boolean][] = [
    ['1 KiB window', frame(0x00, 0x00), true],
    ['128 MiB window (the limit)', frame(0x00, 0x88), true],
    ['144 MiB window', frame(0x00, 0x89), false],
    ['2 GiB window', frame(0x00, 0xa8), false],
    ['1 GiB single segment', frame(0xa0, 0x00, 0x00, 0x00, 0x40), false],
    [
      'a frame, a skippable frame, a frame',
      Buffer.concat([frame(0x00, 0x00), Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 0xa8, 0xa8, 0xa8]), frame(0x00, 0x00)]),
      true,
    ],
    ['a small frame, then a 2 GiB one', Buffer.concat([frame(0x00, 0x00), frame(0x00, 0xa8)]), false],
  ];
  for (const [what, data, accepted] of cases) {
    assert.is(spawnSync('zstd', ['-d', '-q', '-c'], { input: data }).status === 0, accepted, `the zstd tool on ${what}`);
    // One byte at a time too: the headers arrive in pieces.
    for (const input of [[data], [...data].map((b) => Buffer.from([b]))]) {
      const decoding = decompressed(Readable.from(input)).then(collect);
      if (accepted) assert.match((await decoding).toString(), /^(hello)+$/, what);
      else await rejects(() => decoding, /^a zstd frame asks for a \d+ MiB window, more than the 128 MiB devbox decodes$/);
    }
  }
});

test('corrupt or truncated zstd data is described as such', async () => {
  const compressed = zstd(Buffer.from('x'.repeat(100000) + 'y'.repeat(100000)));
  const cases: [Buffer, RegExp][] = [
    [compressed.subarray(0, compressed.length - 5), /^truncated zstd data/],
    [Buffer.concat([compressed.subarray(0, 6), Buffer.alloc(64, 0xff)]), /^(corrupt|truncated) zstd data/],
  ];
  for (const [broken, expected] of cases) {
    const error = await rejectionOf(async () => collect(await decompressed(Readable.from([broken]))), 'broken zstd data');
    assert.match(describeStreamError(error) ?? String(error), expected);
  }
});

test('empty input, and xz or bzip2 input, are refused with what they are', async () => {
  await rejects(async () => decompressed(Readable.from([]), 'x.tar'), /x.tar is empty, not a tar archive/);
  await rejects(
    async () => decompressed(Readable.from([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 1, 2])]), 'x.tar'),
    /x.tar is xz-compressed, which image layers cannot be/,
  );
  await rejects(async () => decompressed(Readable.from([Buffer.from('BZh91AY&SY')]), 'x.tar'), /bzip2-compressed/);
});

test('corrupt or truncated gzip data is described as such', async () => {
  const gz = gzipSync(Buffer.alloc(100000, 7));
  for (const broken of [gz.subarray(0, gz.length / 2), Buffer.concat([gz.subarray(0, 20), Buffer.alloc(200, 0xff)])]) {
    const error = await rejectionOf(async () => collect(await decompressed(Readable.from([broken]))), 'broken gzip data');
    assert.match(describeStreamError(error) ?? '', /gzip data/);
  }
});

test('tar-stream errors are described as a truncated tar or not a tar', () => {
  assert.is(describeStreamError(new Error('Unexpected end of data')), 'the tar archive is truncated (unexpected end of data)');
  assert.is(
    describeStreamError(new Error('Invalid tar header. Maybe the tar is corrupted or it needs to be gunzipped?')),
    'not a tar archive (invalid tar header)',
  );
  assert.is(describeStreamError(new Error('something else')), undefined);
});

test('the extractor is given a gzip blob as it is, to inflate itself; zstd decoded; a plain tar as it is', async () => {
  const data = Buffer.from('tar bytes '.repeat(1000));
  const gz = gzipSync(data);
  const gzip = await extractorInput(Readable.from([gz]));
  assert.ok(gzip.gunzip);
  assert.ok((await collect(gzip.stream)).equals(gz));
  const zstdLayer = await extractorInput(Readable.from([zstd(data)]));
  assert.not.ok(zstdLayer.gunzip);
  assert.ok((await collect(zstdLayer.stream)).equals(data));
  const plain = await extractorInput(Readable.from([data]));
  assert.not.ok(plain.gunzip);
  assert.ok((await collect(plain.stream)).equals(data));
  await rejects(async () => extractorInput(Readable.from([]), 'x.tar'), /x.tar is empty, not a tar archive/);
});

test.run();
