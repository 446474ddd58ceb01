/**
 * Downloading a blob into the store: the response streams into a temp file in the store's tmp/ while it is
 * hashed, and the file is renamed into blobs/ only when its size and digest are the descriptor's (the
 * store's adoptSpooled). More bytes than promised stop the transfer at once. The same bytes can be handed
 * to a second consumer as they arrive (`tee`: the layer unpacker), which is how a pull unpacks a layer
 * while it downloads; that consumer must not keep anything before the returned promise resolves.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, promises as fs } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { adoptSpooled, shortDigest, type WrittenBlob } from '../image/blobs.js';
import { tempDir, tempPath } from '../image/durable.js';
import type { Descriptor } from '../image/oci.js';
import { describeError, DevboxError } from '../util/errors.js';
import type { RegistryClient } from './client.js';
import type { TransferProgress } from '../util/progress.js';

export interface DownloadOptions {
  progress: TransferProgress;
  /** Also receives every byte, and its end (also when the download fails). */
  tee?: Writable;
  /** Aborting stops the transfer (another layer of the same pull failed). */
  signal?: AbortSignal;
}

function write(stream: Writable, chunk: Buffer): Promise<unknown> | undefined {
  return stream.write(chunk) ? undefined : once(stream, 'drain');
}

/** Downloads `descriptor` into the store's blobs/ and returns it as stored. Call under the store lock. */
export async function downloadBlob(client: RegistryClient, root: string, descriptor: Descriptor, options: DownloadOptions): Promise<WrittenBlob> {
  const what = `blob ${shortDigest(descriptor.digest)}`;
  await fs.mkdir(tempDir(root), { recursive: true });
  const path = tempPath(root, 'blob');
  const file = createWriteStream(path, { flags: 'wx' });
  const hash = createHash('sha256');
  let size = 0;
  try {
    options.signal?.throwIfAborted();
    const response = await client.request({ method: 'GET', path: `blobs/${descriptor.digest}`, ok: [200] });
    const stop = () => response.body.destroy(new DevboxError('stopped: another blob of this image failed'));
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > descriptor.size)
          throw new DevboxError(`${what}: the registry sent more than its ${descriptor.size} bytes`, { fix: 'the registry or a proxy is broken' });
        hash.update(chunk);
        options.progress.advance(chunk.length);
        await Promise.all([write(file, chunk), options.tee && write(options.tee, chunk)]);
      }
    } catch (error) {
      if (error instanceof DevboxError) throw error;
      throw new DevboxError(`${what}: the transfer broke off after ${size} of ${descriptor.size} bytes (${describeError(error)})`, { cause: error });
    } finally {
      options.signal?.removeEventListener('abort', stop);
    }
    file.end();
    await finished(file);
    if (size !== descriptor.size) {
      throw new DevboxError(`${what}: truncated: the registry sent ${size} of ${descriptor.size} bytes`, {
        fix: 'try again; if it persists, the registry is broken',
      });
    }
  } catch (error) {
    file.destroy();
    await fs.rm(path, { force: true });
    throw error;
  } finally {
    options.tee?.end();
  }
  return adoptSpooled(root, { path, digest: `sha256:${hash.digest('hex')}`, size }, descriptor, 'blob');
}
