/**
 * Content-addressed blobs: blobs/sha256/<hex>, stored exactly as received. Every blob is hashed while it
 * streams into a temp file in the store and renamed into place only when its digest (and size, when known)
 * match what the manifest promised. Writers hold the store lock; readers need none.
 */
import { createReadStream, createWriteStream, existsSync, promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { commitTemp } from '../util/atomic-write.js';
import { DevboxError } from '../util/errors.js';
import { tempDir, tempPath, type TempLabel } from './durable.js';
import { crypto } from '../util/lazy-builtins.js';

const DIGEST = /^sha256:([a-f0-9]{64})$/;

export function isDigest(text: string): boolean {
  return DIGEST.test(text);
}

export function digestHex(digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new DevboxError(`unsupported digest "${digest}": devbox stores sha256 content`);
  return m[1];
}

/** "sha256:0123456789ab…", how messages name a blob or layer. */
export function shortDigest(digest: string): string {
  return `${digest.slice(0, 19)}…`;
}

export function blobDir(root: string): string {
  return join(root, 'blobs', 'sha256');
}

export function blobPath(root: string, digest: string): string {
  return join(blobDir(root), digestHex(digest));
}

export interface WrittenBlob {
  digest: string;
  size: number;
}

/** A stream written to a temp file in the store, hashed on the way. */
export interface SpooledFile extends WrittenBlob {
  path: string;
}

export async function spool(root: string, source: Readable, label: TempLabel): Promise<SpooledFile> {
  await fs.mkdir(tempDir(root), { recursive: true });
  const path = tempPath(root, label);
  const hash = crypto().createHash('sha256');
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
      createWriteStream(path, { flags: 'wx' }),
    );
  } catch (error) {
    await fs.rm(path, { force: true });
    throw error;
  }
  return { path, digest: `sha256:${hash.digest('hex')}`, size };
}

/**
 * Moves a spooled file into blobs/ (durably) when it matches `expected`; a mismatch is an error naming
 * `what`. The temp file is gone afterwards either way.
 */
export async function adoptSpooled(root: string, file: SpooledFile, expected?: { digest: string; size?: number }, what = 'blob'): Promise<WrittenBlob> {
  try {
    if (expected && (file.digest !== expected.digest || (expected.size !== undefined && expected.size !== file.size))) {
      throw new DevboxError(`${what} ${expected.digest}: content does not match its digest (got ${file.digest}, ${file.size} bytes)`, {
        fix: 'the source is corrupt or truncated',
      });
    }
    const final = blobPath(root, file.digest);
    if (!existsSync(final)) {
      await fs.mkdir(blobDir(root), { recursive: true });
      await commitTemp(file.path, final, { durable: true });
    }
    return { digest: file.digest, size: file.size };
  } finally {
    await fs.rm(file.path, { force: true });
  }
}

/**
 * Streams `source` into the store; when `expected` is given, a different digest or size is an error and
 * nothing is kept. Call under the store lock.
 */
export async function writeBlob(root: string, source: Readable, expected?: { digest: string; size?: number }, what = 'blob'): Promise<WrittenBlob> {
  return adoptSpooled(root, await spool(root, source, 'blob'), expected, what);
}

export function writeBlobBytes(root: string, data: Buffer | string): Promise<WrittenBlob> {
  return writeBlob(root, Readable.from([Buffer.from(data)]));
}

export async function readBlobJson<T>(root: string, digest: string): Promise<T> {
  let text: string;
  try {
    // Synchronously: a manifest or config is small, and the first asynchronous read loads fs/promises and
    // starts libuv's thread pool, which `devbox run` otherwise never needs (~8 ms of it, 2026-12-07).
    text = readFileSync(blobPath(root, digest), 'utf8');
  } catch {
    throw new DevboxError(`blob ${shortDigest(digest)} is missing from the store`, { fix: 'remove the image and load it again' });
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new DevboxError(`blob ${shortDigest(digest)} in the store is not valid JSON`, { fix: 'remove the image and load it again' });
  }
}

export function openBlob(root: string, digest: string): Readable {
  return createReadStream(blobPath(root, digest));
}

export function blobExists(root: string, digest: string): boolean {
  return existsSync(blobPath(root, digest));
}
