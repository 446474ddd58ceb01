/**
 * ADD of an http(s) URL: the file is downloaded into the step's workspace, checked against --checksum when
 * one is given, and named after the last component of the URL's path, mode 0600 and the server's
 * Last-Modified time, as Docker does. It is never extracted.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, utimesSync } from 'node:fs';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StepError } from './step-error.js';

/** The name Docker gives a downloaded file. */
export function downloadName(url: string): string {
  let base = '';
  try {
    base = posix.basename(new URL(url).pathname);
  } catch {
    throw new StepError(`invalid URL "${url}"`);
  }
  return base && base !== '/' ? decodeURIComponent(base) : '__unnamed__';
}

export interface Downloaded {
  name: string;
  digest: string;
}

/** Downloads `url` into `dir`; with `checksum` (sha256:HEX) a different content is an error. */
export async function download(url: string, dir: string, checksum?: string): Promise<Downloaded> {
  if (checksum !== undefined && !/^sha256:[0-9a-f]{64}$/.test(checksum))
    throw new StepError(`invalid --checksum "${checksum}": expected sha256:<64 hex digits>`);
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (error) {
    throw new StepError(`cannot download ${url}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`);
  }
  if (!response.ok || !response.body) throw new StepError(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`.trim());
  const name = downloadName(url);
  const path = join(dir, name);
  const hash = createHash('sha256');
  await pipeline(
    Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(path, { mode: 0o600 }),
  );
  const digest = `sha256:${hash.digest('hex')}`;
  if (checksum !== undefined && digest !== checksum) throw new StepError(`checksum mismatch for ${url}: expected ${checksum}, got ${digest}`);
  const modified = response.headers.get('last-modified');
  if (modified && !Number.isNaN(Date.parse(modified))) utimesSync(path, new Date(modified), new Date(modified));
  return { name, digest };
}
