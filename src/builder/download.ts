/**
 * ADD of an http(s) URL: the file is downloaded into the step's workspace, checked against --checksum when
 * one is given, and named after the last component of the URL's path, mode 0600 and the server's
 * Last-Modified time, as Docker does. It is never extracted.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, utimesSync } from 'node:fs';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type HttpResponse, send } from '../registry/http.js';
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
  const name = downloadName(url);
  let response: HttpResponse;
  try {
    // devbox's one HTTP client (redirects followed, an idle timeout, NODE_EXTRA_CA_CERTS trusted).
    response = await send({ method: 'GET', url: new URL(url) });
  } catch (error) {
    throw new StepError(`cannot download ${url}: ${(error as Error).message}`);
  }
  if (response.status < 200 || response.status > 299) {
    response.body.resume();
    throw new StepError(`cannot download ${url}: HTTP ${response.status} ${response.body.statusMessage ?? ''}`.trim());
  }
  const path = join(dir, name);
  const hash = createHash('sha256');
  await pipeline(
    response.body,
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
  const modified = response.headers['last-modified'];
  if (modified && !Number.isNaN(Date.parse(modified))) utimesSync(path, new Date(modified), new Date(modified));
  return { name, digest };
}
