/** Layer blobs as tar streams: compression detected from the magic bytes, decoded here or by the helper's extractor. */
import { Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DevboxError } from '../util/errors.js';
import { MediaType } from './oci.js';
import { ZstdWindowGuard } from './zstd-window.js';

const MAGIC: [Compression, Buffer][] = [
  ['gzip', Buffer.from([0x1f, 0x8b])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['bzip2', Buffer.from('BZh')],
];

export type Compression = 'gzip' | 'zstd' | 'xz' | 'bzip2' | 'none';

/** Compression of a stream from its first bytes (as docker and containers/storage detect it). */
export function detectCompression(head: Buffer): Compression {
  return MAGIC.find(([, magic]) => head.subarray(0, magic.length).equals(magic))?.[0] ?? 'none';
}

export type LayerCompression = 'none' | 'gzip' | 'zstd';

/** Throws for what no image format carries in a layer (xz, bzip2); the message says what it is. */
export function checkSupportedCompression(compression: Compression, what: string): asserts compression is LayerCompression {
  if (compression === 'xz' || compression === 'bzip2') {
    throw new DevboxError(`${what} is ${compression}-compressed, which image layers cannot be`, { fix: 'use a plain, gzip- or zstd-compressed tar' });
  }
}

/** The OCI media type of a layer stored as it came. */
export function layerMediaType(compression: LayerCompression): string {
  return { none: MediaType.ociLayer, gzip: MediaType.ociLayerGzip, zstd: MediaType.ociLayerZstd }[compression];
}

/** Bytes needed to recognize every format in MAGIC. */
const HEAD_BYTES = 8;

/** The stream again, with its first `bytes` bytes (for the magic numbers) read ahead. */
export async function peek(input: Readable, bytes = HEAD_BYTES): Promise<{ head: Buffer; stream: Readable }> {
  const iterator = input[Symbol.asyncIterator]();
  const read: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < bytes) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    read.push(next.value as Buffer);
    length += (next.value as Buffer).length;
  }
  const head = Buffer.concat(read);
  async function* rest() {
    if (head.length) yield head;
    if (done) return;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value as Buffer;
  }
  return { head, stream: Readable.from(rest(), { objectMode: false }) };
}

/** zlib's output piece: its 16 KiB default means ten thousand stream hops for a 170 MB layer. */
const GUNZIP_CHUNK = 64 * 1024;

/**
 * A zstd decoder as a stream. Node.js 20 has none; fzstd (pure JavaScript, by the author of fflate) decodes
 * streams at about two thirds of zlib's gunzip speed. It allocates whatever window a frame asks for, so the
 * frames are checked first (zstd-window.ts).
 */
async function zstdDecoder(): Promise<Transform> {
  const { Decompress } = await import('fzstd');
  const decoder = new Decompress((data) => transform.push(Buffer.from(data))); // a copy: fzstd may reuse its buffers
  const guard = new ZstdWindowGuard();
  const feed = (chunk: Uint8Array, final: boolean, done: (error?: Error | null) => void) => {
    try {
      guard.check(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      decoder.push(chunk, final);
      done();
    } catch (error) {
      done(error as Error);
    }
  };
  const transform: Transform = new Transform({
    transform: (chunk: Buffer, _encoding, done) => feed(chunk, false, done),
    flush: (done) => feed(new Uint8Array(0), true, done),
  });
  return transform;
}

/** The input with its compression, read from its first bytes; empty input, xz and bzip2 are errors. */
async function withCompression(input: Readable, what: string): Promise<{ compression: LayerCompression; stream: Readable }> {
  const { head, stream } = await peek(input);
  if (!head.length) throw new DevboxError(`${what} is empty, not a tar archive`);
  const compression = detectCompression(head);
  checkSupportedCompression(compression, what);
  return { compression, stream };
}

async function decode(stream: Readable, compression: LayerCompression): Promise<Readable> {
  if (compression === 'none') return stream;
  const decoder = compression === 'gzip' ? createGunzip({ chunkSize: GUNZIP_CHUNK }) : await zstdDecoder();
  stream.on('error', (error) => decoder.destroy(error));
  return stream.pipe(decoder);
}

/** The uncompressed tar stream of a plain, gzip- or zstd-compressed input; anything else is an error. */
export async function decompressed(input: Readable, what = 'the layer'): Promise<Readable> {
  const { compression, stream } = await withCompression(input, what);
  return decode(stream, compression);
}

/**
 * What the helper's layer extractor is given (native/layer-input.c): a gzip blob as it is, which the
 * extractor inflates itself (`gunzip`), so that devbox's process carries the compressed bytes only; a zstd
 * one decoded here (the helper has no zstd); a plain tar as it is. The extractor hashes the tar either way.
 */
export async function extractorInput(input: Readable, what = 'the layer'): Promise<{ stream: Readable; gunzip: boolean }> {
  const { compression, stream } = await withCompression(input, what);
  if (compression === 'gzip') return { stream, gunzip: true };
  return { stream: await decode(stream, compression), gunzip: false };
}

/**
 * The one-line reason for a failure while reading a tar stream: zlib and tar-stream report corrupt input in
 * their own words, the user wants to know that the file is truncated or not a tar at all.
 */
export function describeStreamError(error: unknown): string | undefined {
  const e = error as NodeJS.ErrnoException;
  if (!e || typeof e !== 'object') return undefined;
  if (typeof e.code === 'string' && e.code.startsWith('Z_')) return `corrupt or truncated gzip data (${e.message})`;
  if (e.message === 'unexpected end of file') return 'truncated gzip data (unexpected end of file)';
  if (typeof e.code === 'number' && e.message === 'unexpected EOF') return 'truncated zstd data (unexpected end of file)';
  if (typeof e.code === 'number' && /zstd|block type|FSE|match distance|window size/.test(e.message)) return `corrupt zstd data (${e.message})`;
  if (e.message === 'Unexpected end of data') return 'the tar archive is truncated (unexpected end of data)';
  if (typeof e.message === 'string' && e.message.startsWith('Invalid tar header')) return 'not a tar archive (invalid tar header)';
  return undefined;
}
