/**
 * Blob uploads (distribution-spec spec.md "Pushing blobs"): a HEAD first, so a blob the repository has is
 * not sent again; a cross-repository mount when the blob is known to be in another repository of the same
 * registry (201: done; 202: the registry declined and opened an upload instead); then a monolithic PUT, or
 * for large blobs PATCHes of CHUNK_SIZE bytes with Content-Range and a closing PUT with the digest.
 * Blobs stream from the store's files; the registry checks the digest we name. A manifest goes up last,
 * under its tag (putManifest), byte for byte.
 */
import { createReadStream, statSync } from 'node:fs';
import { blobPath, shortDigest } from '../image/blobs.js';
import type { Descriptor } from '../image/oci.js';
import { DevboxError } from '../util/errors.js';
import type { RegistryClient } from './client.js';
import type { HttpResponse } from './http.js';
import type { TransferProgress } from '../util/progress.js';

/** Blobs larger than this go up in chunks of this size; smaller ones in one request. */
export const CHUNK_SIZE = 16 << 20;

export type UploadResult = 'exists' | 'mounted' | 'uploaded';

/** The upload URL a response names (Location may be relative: spec.md says to resolve it). */
function uploadLocation(response: HttpResponse): string {
  const location = response.headers.location;
  response.body.resume();
  if (!location) throw new DevboxError(`the registry opened an upload without saying where (no Location header)`);
  return new URL(location, response.url).toString();
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
}

async function monolithic(client: RegistryClient, location: string, path: string, descriptor: Descriptor, progress: TransferProgress): Promise<void> {
  const body = createReadStream(path).on('data', (chunk) => progress.advance(chunk.length));
  const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(descriptor.size) };
  (await client.request({ method: 'PUT', path: withDigest(location, descriptor.digest), headers, body, ok: [201] })).body.resume();
}

async function chunked(client: RegistryClient, location: string, path: string, descriptor: Descriptor, progress: TransferProgress): Promise<void> {
  let next = location;
  for (let start = 0; start < descriptor.size; start += CHUNK_SIZE) {
    const end = Math.min(start + CHUNK_SIZE, descriptor.size) - 1;
    const body = createReadStream(path, { start, end }).on('data', (chunk) => progress.advance(chunk.length));
    const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(end - start + 1), 'Content-Range': `${start}-${end}` };
    next = uploadLocation(await client.request({ method: 'PATCH', path: next, headers, body, ok: [202] }));
  }
  (await client.request({ method: 'PUT', path: withDigest(next, descriptor.digest), headers: { 'Content-Length': '0' }, ok: [201] })).body.resume();
}

/** Makes sure the client's repository has the blob; `mountFrom`: another repository on the registry that may have it. */
export async function uploadBlob(
  client: RegistryClient,
  root: string,
  descriptor: Descriptor,
  progress: TransferProgress,
  mountFrom?: string,
): Promise<UploadResult> {
  const head = await client.request({ method: 'HEAD', path: `blobs/${descriptor.digest}`, ok: [200, 404] });
  head.body.resume();
  if (head.status === 200) return 'exists';
  const path = blobPath(root, descriptor.digest);
  const stored = statSync(path, { throwIfNoEntry: false });
  if (stored?.size !== descriptor.size)
    throw new DevboxError(`blob ${shortDigest(descriptor.digest)} is missing or damaged in the store`, { fix: 'pull or load the image again' });
  const query = mountFrom ? `?mount=${encodeURIComponent(descriptor.digest)}&from=${encodeURIComponent(mountFrom)}` : '';
  const opened = await client.request({ method: 'POST', path: `blobs/uploads/${query}`, headers: { 'Content-Length': '0' }, ok: [201, 202] });
  if (opened.status === 201) {
    opened.body.resume();
    return 'mounted';
  }
  const location = uploadLocation(opened);
  await (descriptor.size > CHUNK_SIZE ? chunked : monolithic)(client, location, path, descriptor, progress);
  return 'uploaded';
}

/** PUTs `bytes` as the manifest tagged `tag`; returns the digest the registry says it stored (if it says). */
export async function putManifest(client: RegistryClient, tag: string, mediaType: string, bytes: Buffer): Promise<string | undefined> {
  const response = await client.request({ method: 'PUT', path: `manifests/${tag}`, headers: { 'Content-Type': mediaType }, body: bytes, ok: [201] });
  response.body.resume();
  const digest = response.headers['docker-content-digest'];
  return typeof digest === 'string' ? digest : undefined;
}
