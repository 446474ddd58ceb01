/**
 * Content-addressed blobs: blobs/sha256/<hex>. Every blob is hashed while it streams into a temp file in the
 * store and renamed into place only when its digest (and size, when known) match.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DevboxError } from '../util/errors.js';

const DIGEST = /^sha256:([a-f0-9]{64})$/;

export function digestHex(digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new DevboxError(`unsupported digest "${digest}": devbox stores sha256 content`);
  return m[1];
}

export function blobPath(root: string, digest: string): string {
  return join(root, 'blobs', 'sha256', digestHex(digest));
}

/** A temp path in the store's tmp/ (same file system as everything it is renamed onto). */
export function tempPath(root: string, label: string): string {
  return join(root, 'tmp', `${label}-${randomBytes(6).toString('hex')}`);
}

export interface WrittenBlob {
  digest: string;
  size: number;
}

/**
 * Streams `source` into the store; when `expected` is given, a different digest or size is an error and
 * nothing is kept. Returns the digest and size.
 */
export async function writeBlob(root: string, source: Readable, expected?: { digest: string; size?: number }, what = 'blob'): Promise<WrittenBlob> {
  await fs.mkdir(join(root, 'tmp'), { recursive: true });
  const temp = tempPath(root, 'blob');
  const hash = createHash('sha256');
  let size = 0;
  try {
    await pipeline(
      source,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(temp, { flags: 'wx' }),
    );
    const digest = `sha256:${hash.digest('hex')}`;
    if (expected && (digest !== expected.digest || (expected.size !== undefined && expected.size !== size))) {
      throw new DevboxError(`${what} ${expected.digest}: content does not match its digest (got ${digest}, ${size} bytes)`, { fix: 'the source is corrupt or truncated' });
    }
    const final = blobPath(root, digest);
    await fs.mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
    const handle = await fs.open(temp, 'r');
    await handle.sync();
    await handle.close();
    await fs.rename(temp, final);
    return { digest, size };
  } finally {
    await fs.rm(temp, { force: true });
  }
}

export function writeBlobBytes(root: string, data: Buffer | string): Promise<WrittenBlob> {
  return writeBlob(root, Readable.from([Buffer.from(data)]));
}

export async function readBlobJson<T>(root: string, digest: string): Promise<T> {
  let text: string;
  try {
    text = await fs.readFile(blobPath(root, digest), 'utf8');
  } catch {
    throw new DevboxError(`blob ${digest} is missing from the store`, { fix: 'remove the image and load it again' });
  }
  return JSON.parse(text) as T;
}

export function openBlob(root: string, digest: string): Readable {
  return createReadStream(blobPath(root, digest));
}

export async function blobExists(root: string, digest: string): Promise<boolean> {
  try {
    await fs.access(blobPath(root, digest));
    return true;
  } catch {
    return false;
  }
}
