/**
 * Fetching what a reference names and narrowing it to one image manifest: a manifest list or OCI index is
 * resolved to the entry for the wanted platform, every manifest is checked against the digest it was asked
 * by, and only media types devbox can store and run are accepted (image-spec manifest.md, image-index.md;
 * Docker's schema 2). Schema 1 manifests and artifacts are refused with their media type named.
 */
import { parseImageIndex, parseImageManifest } from '../image/archive-manifest.js';
import { isImageIndexType, isImageManifestType, MediaType, type Descriptor, type ImageManifest, type Platform } from '../image/oci.js';
import { formatPlatform, matchPlatform, offeredPlatforms } from '../image/platform.js';
import { DevboxError } from '../util/errors.js';
import type { RegistryClient } from './client.js';
import { readBody } from './http.js';
import { crypto } from '../util/lazy-builtins.js';

export const MANIFEST_TYPES = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest];

/** Manifests are small; a registry sending more than this is not sending a manifest. */
const MANIFEST_LIMIT = 4 << 20;

const LAYER_TYPES = new Set<string>([
  MediaType.ociLayer,
  MediaType.ociLayerGzip,
  MediaType.ociLayerZstd,
  MediaType.dockerLayer,
  MediaType.dockerLayerGzip,
  MediaType.dockerForeignLayerGzip,
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
]);
const CONFIG_TYPES = new Set<string>([MediaType.ociConfig, MediaType.dockerConfig]);

export interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
}

/** An image manifest ready to pull, with the digest of the index it was chosen from when there was one. */
export interface ResolvedManifest extends FetchedManifest {
  manifest: ImageManifest;
  indexDigest?: string;
}

export function sha256Digest(data: Buffer): string {
  return `sha256:${crypto().createHash('sha256').update(data).digest('hex')}`;
}

function unsupported(mediaType: string, what: string): DevboxError {
  const why = mediaType.includes('manifest.v1')
    ? 'Docker schema 1 manifests are deprecated; push the image again with a current tool'
    : 'it is not a container image devbox can run';
  return new DevboxError(`unsupported media type ${mediaType} (${what}): ${why}`);
}

/** The media type a manifest declares in its body, else in Content-Type, else from its shape (OCI allows omitting it). */
function manifestMediaType(bytes: Buffer, contentType: string | undefined): string {
  let body: { mediaType?: unknown; manifests?: unknown; layers?: unknown; schemaVersion?: unknown };
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new DevboxError('the registry sent a manifest that is not valid JSON');
  }
  if (typeof body?.mediaType === 'string') return body.mediaType;
  const header = contentType?.split(';')[0].trim();
  if (header && header !== 'application/json' && header !== 'application/octet-stream') return header;
  if (body?.schemaVersion === 1) return 'application/vnd.docker.distribution.manifest.v1+json';
  return Array.isArray(body?.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
}

export async function fetchManifest(client: RegistryClient, reference: string): Promise<FetchedManifest> {
  const response = await client.request({ method: 'GET', path: `manifests/${reference}`, headers: { Accept: MANIFEST_TYPES.join(', ') }, ok: [200] });
  const bytes = await readBody(response, MANIFEST_LIMIT, `the manifest of ${client.repository}`);
  const digest = sha256Digest(bytes);
  if (reference.startsWith('sha256:') && digest !== reference) {
    throw new DevboxError(`manifest ${reference}: content does not match its digest (got ${digest})`, { fix: 'the registry or a proxy altered it' });
  }
  return { bytes, digest, mediaType: manifestMediaType(bytes, response.headers['content-type']) };
}

function checkImageManifest(manifest: ImageManifest): void {
  if (!CONFIG_TYPES.has(manifest.config.mediaType)) throw unsupported(manifest.config.mediaType, 'config');
  for (const layer of manifest.layers) if (!LAYER_TYPES.has(layer.mediaType)) throw unsupported(layer.mediaType, `layer ${layer.digest}`);
}

/** The entry of an index for `platform`; none is an error listing what the index offers. */
export function selectIndexEntry(manifests: readonly Descriptor[], platform: Platform): Descriptor {
  const match = matchPlatform(manifests, platform);
  if (!match)
    throw new DevboxError(`no image for ${formatPlatform(platform)} (the image has ${offeredPlatforms(manifests)})`, { fix: 'choose one with --platform' });
  if (!isImageManifestType(match.mediaType)) throw unsupported(match.mediaType, `the entry for ${formatPlatform(platform)}`);
  return match;
}

/** The image manifest `reference` (tag or digest) names, for `platform` when it names an index. */
export async function resolveManifest(client: RegistryClient, reference: string, platform: Platform): Promise<ResolvedManifest> {
  let fetched = await fetchManifest(client, reference);
  let indexDigest: string | undefined;
  if (isImageIndexType(fetched.mediaType)) {
    const index = parseImageIndex(fetched.bytes, client.repository, `index ${fetched.digest}`);
    const entry = selectIndexEntry(index.manifests, platform);
    indexDigest = fetched.digest;
    fetched = await fetchManifest(client, entry.digest);
  }
  if (!isImageManifestType(fetched.mediaType)) throw unsupported(fetched.mediaType, 'manifest');
  const manifest = parseImageManifest(fetched.bytes, client.repository, `manifest ${fetched.digest}`);
  checkImageManifest(manifest);
  return { ...fetched, manifest, indexDigest };
}
