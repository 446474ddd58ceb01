/** Layer blobs as uncompressed tar streams: compression detected from the magic bytes, diffID hashed on the way. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DevboxError } from '../util/errors.js';

const GZIP = Buffer.from([0x1f, 0x8b]);
const ZSTD = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

export type Compression = 'gzip' | 'zstd' | 'none';

export function detectCompression(head: Buffer): Compression {
  if (head.subarray(0, 2).equals(GZIP)) return 'gzip';
  if (head.subarray(0, 4).equals(ZSTD)) return 'zstd';
  return 'none';
}

/** The stream again, with its first chunk (for the magic bytes) read ahead. */
async function peek(input: Readable): Promise<{ head: Buffer; stream: Readable }> {
  const iterator = input[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : (first.value as Buffer);
  async function* rest() {
    if (head.length) yield head;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value as Buffer;
  }
  return { head, stream: Readable.from(rest(), { objectMode: false }) };
}

export async function decompressed(input: Readable): Promise<Readable> {
  const { head, stream } = await peek(input);
  switch (detectCompression(head)) {
    case 'gzip':
      return stream.pipe(createGunzip());
    case 'zstd':
      throw new DevboxError('zstd-compressed layers are not supported yet', { fix: 'use gzip or uncompressed layers' });
    case 'none':
      return stream;
  }
}

export interface DigestCounter {
  stream: Readable;
  /** sha256:<hex> and byte count of everything that passed, once the stream has ended. */
  result(): { digest: string; size: number };
}

export function digesting(input: Readable): DigestCounter {
  const hash = createHash('sha256');
  let size = 0;
  let digest: string | undefined;
  async function* pass() {
    for await (const chunk of input) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    digest = `sha256:${hash.digest('hex')}`;
  }
  return {
    stream: Readable.from(pass(), { objectMode: false }),
    result: () => {
      if (!digest) throw new Error('the layer stream has not ended');
      return { digest, size };
    },
  };
}
