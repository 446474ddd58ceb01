/**
 * Pure parsing of what image archives describe themselves with: docker-archive's manifest.json (as
 * `docker save` and `podman save` write it) and an OCI image layout's index.json and manifests. Input is
 * untrusted: shapes are checked before use, digests must be sha256, names must be valid references.
 */
import { DevboxError } from '../util/errors.js';
import { Annotation, type Descriptor, type ImageIndex, type ImageManifest } from './oci.js';
import { matchPlatform, offeredPlatforms } from './platform.js';
import { normalizedName, parseReference } from './reference.js';

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** One image in a docker-archive's manifest.json. Paths are inside the archive. */
export interface DockerArchiveImage {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

export function parseJson<T = unknown>(data: Buffer, label: string, name: string): T {
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch {
    throw new DevboxError(`${label}: "${name}" in the archive is not valid JSON`);
  }
}

export function parseDockerArchiveManifest(data: Buffer, label: string): DockerArchiveImage[] {
  const entries = parseJson(data, label, 'manifest.json');
  if (!Array.isArray(entries) || !entries.length) throw new DevboxError(`${label}: manifest.json lists no images`);
  return entries.map((entry: Record<string, unknown>, i) => {
    const tags = entry?.RepoTags ?? [];
    if (!entry || typeof entry.Config !== 'string' || !isStringArray(entry.Layers) || !isStringArray(tags)) {
      throw new DevboxError(`${label}: manifest.json entry ${i + 1} is not an image (it needs Config, Layers and RepoTags)`);
    }
    return { Config: entry.Config, RepoTags: tags, Layers: entry.Layers };
  });
}

/**
 * The digest an archive member's path promises, when it has one: `blobs/sha256/<hex>` (OCI layout, and
 * docker-archives from Docker ≥ 25) and a docker-archive's config `<hex>.json` (the image id).
 * Legacy `<id>/layer.tar` names carry a v1 id, not a digest; those layers are checked by diffID instead.
 */
export function digestFromArchivePath(path: string): string | undefined {
  const m = /^(?:blobs\/sha256\/([a-f0-9]{64})|([a-f0-9]{64})\.json)$/.exec(path);
  return m ? `sha256:${m[1] ?? m[2]}` : undefined;
}

/** Archive path of a blob in an OCI image layout. */
export function ociBlobPath(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

/** Store names for RepoTags (or an OCI ref name): normalized; an invalid one is an error naming the archive. */
export function normalizeNames(tags: readonly string[], label: string): string[] {
  return tags.map((tag) => {
    try {
      const ref = parseReference(tag);
      if (ref.digest) throw new DevboxError(`"${tag}" is a digest reference, not a name with a tag`);
      return normalizedName(ref);
    } catch (error) {
      throw new DevboxError(`${label}: ${(error as Error).message}`);
    }
  });
}

/**
 * The image name an OCI index entry carries. containerd writes the full name in its own annotation;
 * `org.opencontainers.image.ref.name` is a full name from podman and Docker, but a bare tag ("latest",
 * "1.0") from skopeo and the image-layout examples: a bare tag names no repository, so no name.
 */
export function ociRefName(annotations: Record<string, string> | undefined): string | undefined {
  const full = annotations?.[Annotation.containerdImageName];
  if (full) return full;
  const ref = annotations?.[Annotation.refName];
  return ref && /[/:]/.test(ref) ? ref : undefined;
}

function checkDescriptor(d: unknown, label: string, where: string): Descriptor {
  const desc = d as Descriptor;
  if (!desc || typeof desc !== 'object' || typeof desc.mediaType !== 'string' || typeof desc.digest !== 'string' || typeof desc.size !== 'number') {
    throw new DevboxError(`${label}: ${where} has a malformed descriptor`);
  }
  if (!DIGEST.test(desc.digest)) throw new DevboxError(`${label}: ${where} names "${desc.digest}", not a sha256 digest`);
  return desc;
}

export function parseImageIndex(data: Buffer, label: string, name: string): ImageIndex {
  const index = parseJson<ImageIndex>(data, label, name);
  if (!index || !Array.isArray(index.manifests)) throw new DevboxError(`${label}: "${name}" is not an image index`);
  for (const [i, d] of index.manifests.entries()) checkDescriptor(d, label, `${name} entry ${i + 1}`);
  return index;
}

export function parseImageManifest(data: Buffer, label: string, name: string): ImageManifest {
  const manifest = parseJson<ImageManifest>(data, label, name);
  if (!manifest || typeof manifest !== 'object' || !Array.isArray(manifest.layers)) throw new DevboxError(`${label}: "${name}" is not an image manifest`);
  checkDescriptor(manifest.config, label, `the config of ${name}`);
  for (const [i, d] of manifest.layers.entries()) checkDescriptor(d, label, `layer ${i + 1} of ${name}`);
  return manifest;
}

/**
 * The entries of an index to load: the one for linux/`architecture` when entries name platforms (the
 * first match), else all of them. Nested indexes are followed by the caller.
 */
export function selectPlatform(manifests: readonly Descriptor[], architecture: string, label: string): Descriptor[] {
  if (!manifests.some((m) => m.platform)) return [...manifests];
  const match = matchPlatform(manifests, { os: 'linux', architecture });
  if (!match) throw new DevboxError(`${label}: no image for linux/${architecture} in the archive (it has ${offeredPlatforms(manifests)})`);
  return [match];
}
