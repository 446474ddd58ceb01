/**
 * Where a Feature comes from and getting its files (containers.dev/implementors/features-distribution):
 * an OCI artifact (`REGISTRY/NAMESPACE/ID[:VERSION|@DIGEST]`, `:latest` when no version is given), a tarball
 * at an https:// URL, or a folder beside devcontainer.json (`./path`, inside the .devcontainer folder). Fetched
 * Features are kept in the store by content digest (features/<hex>/), so a pinned Feature is fetched once.
 * Their tars are someone else's input: an entry that would leave the Feature's folder, or go through a link,
 * is refused, never followed.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { parseReference, repositoryName } from '../../image/reference.js';
import { entryKind, entryPath, parentsOf } from '../../image/tar-paths.js';
import { DevboxError, describeError } from '../../util/errors.js';

export const FEATURE_ARTIFACT = {
  what: 'Feature',
  configMediaType: 'application/vnd.devcontainers',
  layerMediaType: 'application/vnd.devcontainers.layer.v1+tar',
  limit: 256 << 20,
};

export type FeatureSource =
  /** `resource`: REGISTRY/NAMESPACE/ID, lowercase, without version: what installsAfter and overrideFeatureInstallOrder name. */
  { kind: 'oci'; resource: string; tag?: string; digest?: string } | { kind: 'tarball'; url: string } | { kind: 'local'; path: string };

/** A fetched Feature: its files, and the digest that pins it (none for a local one). */
export interface FeatureContent {
  dir: string;
  /** OCI: the manifest's digest; tarball: the tarball's sha256. */
  digest?: string;
  /** OCI: REPOSITORY@DIGEST, as the lock pins it. */
  pinned?: string;
}

/** Hosts that may serve Feature tarballs over plain HTTP (as registries on loopback may). */
function isLoopbackUrl(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

/**
 * A Feature reference as devcontainer.json (or a Feature's dependsOn) writes it; `folder` is the folder of
 * the devcontainer.json that local paths are relative to. Ids are case-insensitive: OCI ones are lowercased.
 * A reason (for an error at the key) when it is none of the three forms.
 */
export function parseFeatureSource(id: string, folder: string): FeatureSource | { invalid: string } {
  if (id.startsWith('./') || id.startsWith('../')) {
    const path = resolve(folder, id);
    const inside = relative(folder, path);
    // The spec keeps local Features in a sub-folder of the .devcontainer folder.
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside))
      return { invalid: 'a local Feature must be in a folder below the one of devcontainer.json' };
    return { kind: 'local', path };
  }
  if (id.startsWith('/')) return { invalid: 'a local Feature is given by a path relative to devcontainer.json (./NAME), not an absolute one' };
  if (/^https?:\/\//i.test(id)) {
    let url: URL;
    try {
      url = new URL(id);
    } catch {
      return { invalid: 'is not a valid URL' };
    }
    if (url.protocol !== 'https:' && !isLoopbackUrl(url)) return { invalid: 'a Feature tarball is fetched over https://' };
    return { kind: 'tarball', url: url.href };
  }
  // `node` or `owner/repo/feature@v1`, the retired built-in and GitHub-release forms, name no registry.
  const first = id.split('/')[0];
  if (!id.includes('/') || !(first.includes('.') || first.includes(':') || first === 'localhost')) {
    return { invalid: 'is not a Feature reference devbox knows: an OCI reference (ghcr.io/OWNER/REPO/NAME:VERSION), ./path or an https:// tarball URL' };
  }
  try {
    const ref = parseReference(id.toLowerCase());
    return { kind: 'oci', resource: repositoryName(ref), ...(ref.tag ? { tag: ref.tag } : {}), ...(ref.digest ? { digest: ref.digest } : {}) };
  } catch (error) {
    return { invalid: `is not a Feature reference: ${describeError(error)}` };
  }
}

/** The reference to pull: tag (latest by default) or digest. */
export function ociReference(source: Extract<FeatureSource, { kind: 'oci' }>): string {
  return source.digest ? `${source.resource}@${source.digest}` : `${source.resource}:${source.tag ?? 'latest'}`;
}

function cacheDir(storeRoot: string, digest: string): string {
  return join(storeRoot, 'features', digest.slice('sha256:'.length));
}

/** Writes the tar's files and folders into `dir`; links that lead out and entries through links are refused. */
export async function extractFeatureTar(data: Buffer, dir: string, label: string): Promise<void> {
  const bytes = data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data;
  const extract = tar.extract();
  Readable.from([bytes]).pipe(extract);
  const links = new Set<string>();
  for await (const entry of extract) {
    const { header } = entry;
    let path: string;
    try {
      path = entryPath(header.name);
      const kind = entryKind(header as { name: string; type?: string | null; pax?: Record<string, string> | null });
      if (parentsOf(path).some((parent) => links.has(parent)) || links.has(path)) {
        throw new DevboxError(`entry "${header.name}" goes through a symbolic link`);
      }
      const target = join(dir, path);
      if (kind === 'directory') await fs.mkdir(target, { recursive: true, mode: 0o755 });
      else if (kind === 'file') {
        await fs.mkdir(dirname(target), { recursive: true });
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        await fs.writeFile(target, Buffer.concat(chunks), { mode: (header.mode ?? 0o644) & 0o777, flag: 'wx' });
        continue;
      } else if (kind === 'symlink') {
        await fs.mkdir(dirname(target), { recursive: true });
        await fs.symlink(header.linkname ?? '', target);
        links.add(path);
      } else throw new DevboxError(`entry "${header.name}" is a ${kind}, which a Feature cannot hold`);
    } catch (error) {
      entry.resume();
      throw new DevboxError(`${label}: ${describeError(error)}`, { cause: error });
    }
    entry.resume();
  }
}

/** Puts a fetched tar in the store's Feature cache (once per digest) and returns the folder. */
async function cacheFeature(storeRoot: string, digest: string, tarData: Buffer, label: string): Promise<string> {
  const dir = cacheDir(storeRoot, digest);
  if (existsSync(dir)) return dir;
  const partial = `${dir}.partial-${process.pid}`;
  await fs.rm(partial, { recursive: true, force: true });
  await fs.mkdir(partial, { recursive: true, mode: 0o755 });
  try {
    await extractFeatureTar(tarData, partial, label);
    await fs.rename(partial, dir);
  } catch (error) {
    await fs.rm(partial, { recursive: true, force: true });
    if (existsSync(dir)) return dir; // another entry cached it meanwhile
    throw error;
  }
  return dir;
}

/** A tarball's bytes; redirects followed, plain HTTP only from loopback. */
async function download(url: string): Promise<Buffer> {
  const { send, readBody } = await import('../../registry/http.js');
  const response = await send({ method: 'GET', url: new URL(url) });
  if (response.status !== 200) {
    response.body.resume();
    throw new DevboxError(`${url} answered HTTP ${response.status}`);
  }
  return readBody(response, FEATURE_ARTIFACT.limit, url);
}

/**
 * The Feature's files. `pinned`: the digest devbox.lock has for it (the manifest's for OCI, the tarball's
 * for a URL): fetched by it, and a tarball with other content is refused.
 */
export async function fetchFeature(storeRoot: string, source: FeatureSource, pinned?: string): Promise<FeatureContent> {
  if (source.kind === 'local') return { dir: source.path };
  if (source.kind === 'tarball') {
    if (pinned && existsSync(cacheDir(storeRoot, pinned))) return { dir: cacheDir(storeRoot, pinned), digest: pinned };
    const data = await download(source.url);
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    if (pinned && digest !== pinned) {
      throw new DevboxError(`${source.url} now has other content (${digest}) than devbox.lock pins (${pinned})`, {
        fix: 'run "devbox update" to pin what it serves now',
      });
    }
    return { dir: await cacheFeature(storeRoot, digest, data, source.url), digest };
  }
  // Kept by manifest digest: a pinned Feature already fetched needs no registry at all.
  if (pinned && existsSync(cacheDir(storeRoot, pinned))) return { dir: cacheDir(storeRoot, pinned), digest: pinned, pinned: `${source.resource}@${pinned}` };
  const { pullArtifact } = await import('../../registry/artifact.js');
  const reference = pinned ? `${source.resource}@${pinned}` : ociReference(source);
  const artifact = await pullArtifact(reference, FEATURE_ARTIFACT);
  return { dir: await cacheFeature(storeRoot, artifact.digest, artifact.layer, reference), digest: artifact.digest, pinned: artifact.pinned };
}
