/**
 * Downloading a blob into the store: the response streams into a temp file in the store's tmp/ while it is
 * hashed, and the file is renamed into blobs/ only when its size and digest are the descriptor's (the
 * store's adoptSpooled). More bytes than promised stop the transfer at once. The same bytes can be handed
 * to a second consumer as they arrive (`tee`: the layer unpacker), which is how a pull unpacks a layer
 * while it downloads; that consumer must not keep anything before the returned promise resolves.
 *
 * A transfer that breaks (a connection reset, a stall, a 5xx or 429 answer) is tried again a few times,
 * after growing pauses, from where it stopped: a `Range` request, which registries should honour
 * (distribution-spec). A registry that ignores it sends the whole blob again; the bytes already received are
 * read past, so the file, the hash and the unpacker carry on as if nothing had happened.
 */
import { once } from 'node:events';
import { createWriteStream, promises as fs } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { adoptSpooled, shortDigest, type WrittenBlob } from '../image/blobs.js';
import { tempDir, tempPath } from '../image/durable.js';
import type { Descriptor } from '../image/oci.js';
import { DevboxError } from '../util/errors.js';
import type { TransferProgress } from '../util/progress.js';
import { note } from '../util/warn.js';
import { RegistryStatusError, type RegistryClient } from './client.js';
import { describeNetworkError, NetworkError, type HttpResponse } from './http.js';
import { crypto } from '../util/lazy-builtins.js';

export interface DownloadOptions {
  progress: TransferProgress;
  /** Also receives every byte, and its end (also when the download fails). */
  tee?: Writable;
  /** Aborting stops the transfer (another layer of the same pull failed). */
  signal?: AbortSignal;
}

/** Pauses before each retry of a broken transfer; their number bounds the retries. */
const RETRY_DELAYS_MS = [250, 1000, 4000];

function write(stream: Writable, chunk: Buffer): Promise<unknown> | undefined {
  return stream.write(chunk) ? undefined : once(stream, 'drain');
}

/** A failure another attempt may not have: the network, or the registry saying it is overloaded or broken. */
function isTransient(error: unknown): boolean {
  if (error instanceof RegistryStatusError) return error.status >= 500 || error.status === 429;
  return error instanceof NetworkError || error instanceof TransferBroken;
}

/** The body stopped coming (a reset, a stall, a closed connection) before all of it arrived. */
class TransferBroken extends DevboxError {}

/** Where a ranged answer starts: `Content-Range: bytes START-END/TOTAL`. */
function rangeStart(response: HttpResponse): number | undefined {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(String(response.headers['content-range'] ?? ''));
  return match ? Number(match[1]) : undefined;
}

class BlobTransfer {
  readonly what: string;
  /** Bytes received, hashed and passed on so far. */
  size = 0;
  private readonly hash = crypto().createHash('sha256');

  constructor(
    private readonly client: RegistryClient,
    private readonly descriptor: Descriptor,
    private readonly file: Writable,
    private readonly options: DownloadOptions,
  ) {
    this.what = `blob ${shortDigest(descriptor.digest)}`;
  }

  get digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }

  /** One request for what is still missing; what it sends is added to what came before. */
  async attempt(): Promise<void> {
    const resume = this.size > 0;
    const response = await this.client.request({
      method: 'GET',
      path: `blobs/${this.descriptor.digest}`,
      headers: resume ? { Range: `bytes=${this.size}-` } : undefined,
      ok: [200, 206],
    });
    let skip = 0;
    if (resume && response.status === 200)
      skip = this.size; // Range ignored: the whole blob again
    else if (response.status === 206 && rangeStart(response) !== this.size) {
      response.body.destroy();
      throw new DevboxError(`${this.what}: asked for the bytes from ${this.size}, the registry sent ${response.headers['content-range'] ?? 'another range'}`, {
        fix: 'the registry or a proxy is broken',
      });
    }
    const stop = () => response.body.destroy(new DevboxError('stopped: another blob of this image failed'));
    this.options.signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (let chunk of response.body as AsyncIterable<Buffer>) {
        if (skip > 0) {
          const dropped = Math.min(skip, chunk.length);
          skip -= dropped;
          chunk = chunk.subarray(dropped);
          if (!chunk.length) continue;
        }
        this.size += chunk.length;
        if (this.size > this.descriptor.size)
          throw new DevboxError(`${this.what}: the registry sent more than its ${this.descriptor.size} bytes`, { fix: 'the registry or a proxy is broken' });
        this.hash.update(chunk);
        this.options.progress.advance(chunk.length);
        await Promise.all([write(this.file, chunk), this.options.tee && write(this.options.tee, chunk)]);
      }
    } catch (error) {
      if (error instanceof DevboxError) throw error;
      const why = describeNetworkError(error as NodeJS.ErrnoException);
      throw new TransferBroken(`${this.what}: the transfer broke off after ${this.size} of ${this.descriptor.size} bytes (${why})`, { cause: error });
    } finally {
      this.options.signal?.removeEventListener('abort', stop);
    }
    if (this.size < this.descriptor.size) throw new TransferBroken(`${this.what}: the transfer broke off after ${this.size} of ${this.descriptor.size} bytes`);
  }

  /** Attempts until the blob is complete, retrying transient failures RETRY_DELAYS_MS.length times. */
  async run(): Promise<void> {
    for (let retry = 0; ; retry++) {
      try {
        this.options.signal?.throwIfAborted();
        await this.attempt();
        return;
      } catch (error) {
        if (!isTransient(error) || retry >= RETRY_DELAYS_MS.length || this.options.signal?.aborted) throw error;
        const delay = RETRY_DELAYS_MS[retry];
        const reason = (error as DevboxError).message.replace(`${this.what}: `, '');
        note(`${this.what}: ${reason}; retrying in ${delay / 1000} s (${retry + 1} of ${RETRY_DELAYS_MS.length})`);
        await sleep(delay, undefined, { signal: this.options.signal }).catch(() => {});
      }
    }
  }
}

/** Downloads `descriptor` into the store's blobs/ and returns it as stored. Call under the store lock. */
export async function downloadBlob(client: RegistryClient, root: string, descriptor: Descriptor, options: DownloadOptions): Promise<WrittenBlob> {
  await fs.mkdir(tempDir(root), { recursive: true });
  const path = tempPath(root, 'blob');
  const file = createWriteStream(path, { flags: 'wx' });
  // A write still in flight when a failed transfer destroys the file errors then; finished() reports real ones.
  file.on('error', () => {});
  const transfer = new BlobTransfer(client, descriptor, file, options);
  try {
    await transfer.run();
    file.end();
    await finished(file);
  } catch (error) {
    file.destroy();
    await fs.rm(path, { force: true });
    throw error;
  } finally {
    options.tee?.end();
  }
  return adoptSpooled(root, { path, digest: transfer.digest, size: transfer.size }, descriptor, 'blob');
}
