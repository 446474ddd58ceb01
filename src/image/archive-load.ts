/**
 * `devbox image load -i ARCHIVE`: docker-archive (manifest.json, as `docker save`/`podman save` write it) and
 * oci-archive (oci-layout + index.json). Every blob is verified against its digest and every layer against
 * the diffID its config names before the image is registered; on any failure the store is left as it was.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { resolveIdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import { readArchive, resolveArchivePath, type ArchiveContents } from './archive-read.js';
import { readBlobJson, writeBlob, writeBlobBytes } from './blobs.js';
import { collectGarbage } from './gc.js';
import { detectCompression } from './layer-stream.js';
import { hostArchitecture, MediaType, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from './oci.js';
import { normalizedName, parseReference } from './reference.js';
import type { ImageStore, StoredImage } from './store.js';
import { unpackLayer } from './unpack.js';

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

interface LoadedImage {
  configDigest: string;
  manifest: ImageManifest;
  manifestBytes?: Buffer;
  names: string[];
}

function file(contents: ArchiveContents, label: string, name: string): Buffer {
  const data = contents.small.get(resolveArchivePath(contents, name));
  if (!data) throw new DevboxError(`${label}: the archive has no "${name}"`, { fix: 'is it a complete docker-archive or oci-archive?' });
  return data;
}

function parseJson<T>(data: Buffer, label: string, name: string): T {
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch {
    throw new DevboxError(`${label}: "${name}" in the archive is not valid JSON`);
  }
}

function normalizeNames(tags: readonly string[], label: string): string[] {
  return tags.map((tag) => {
    try {
      return normalizedName(parseReference(tag));
    } catch (error) {
      throw new DevboxError(`${label}: ${(error as Error).message}`);
    }
  });
}

async function storeSpooled(store: ImageStore, contents: ArchiveContents, label: string, name: string, expected?: Descriptor): Promise<Descriptor> {
  const temp = contents.spooled.get(resolveArchivePath(contents, name));
  if (!temp) throw new DevboxError(`${label}: the archive has no "${name}"`);
  const blob = await writeBlob(store.root, createReadStream(temp), expected ? { digest: expected.digest, size: expected.size } : undefined, `${label}: blob`);
  const head = contents.small.get(resolveArchivePath(contents, name))?.subarray(0, 4) ?? (await readHead(temp));
  const mediaType = expected?.mediaType ?? (detectCompression(head) === 'gzip' ? MediaType.ociLayerGzip : MediaType.ociLayer);
  return { mediaType, digest: blob.digest, size: blob.size };
}

async function readHead(path: string): Promise<Buffer> {
  const stream = createReadStream(path, { start: 0, end: 3 });
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function loadDockerArchive(store: ImageStore, contents: ArchiveContents, label: string): Promise<LoadedImage[]> {
  const entries = parseJson<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>(file(contents, label, 'manifest.json'), label, 'manifest.json');
  if (!Array.isArray(entries) || !entries.length) throw new DevboxError(`${label}: manifest.json lists no images`);
  const images: LoadedImage[] = [];
  for (const entry of entries) {
    const configBytes = file(contents, label, entry.Config);
    const config = parseJson<ImageConfig>(configBytes, label, entry.Config);
    if (config.rootfs?.diff_ids?.length !== entry.Layers.length) throw new DevboxError(`${label}: ${entry.Config} lists ${config.rootfs?.diff_ids?.length ?? 0} layers, manifest.json ${entry.Layers.length}`);
    const configBlob = await writeBlobBytes(store.root, configBytes);
    const layers: Descriptor[] = [];
    for (const layer of entry.Layers) layers.push(await storeSpooled(store, contents, label, layer));
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: configBlob.digest, size: configBlob.size }, layers };
    images.push({ configDigest: configBlob.digest, manifest, names: normalizeNames(entry.RepoTags ?? [], label) });
  }
  return images;
}

function blobName(digest: string): string {
  return `blobs/sha256/${digest.slice(7)}`;
}

/** An image index entry for this platform, or the only entry there is. */
function pickPlatform(index: ImageIndex, label: string): Descriptor[] {
  const manifests = index.manifests ?? [];
  const withPlatform = manifests.filter((m) => m.platform);
  if (!withPlatform.length) return manifests;
  const match = withPlatform.filter((m) => m.platform!.os === 'linux' && m.platform!.architecture === hostArchitecture());
  if (!match.length) throw new DevboxError(`${label}: no image for linux/${hostArchitecture()} in the archive`);
  return match.slice(0, 1);
}

async function loadOciArchive(store: ImageStore, contents: ArchiveContents, label: string): Promise<LoadedImage[]> {
  const index = parseJson<ImageIndex>(file(contents, label, 'index.json'), label, 'index.json');
  const images: LoadedImage[] = [];
  const visit = async (descriptors: Descriptor[], inheritedName?: string) => {
    for (const d of descriptors) {
      const bytes = file(contents, label, blobName(d.digest));
      if (sha256(bytes) !== d.digest) throw new DevboxError(`${label}: ${d.digest} does not match its content`);
      const refName = d.annotations?.['io.containerd.image.name'] ?? d.annotations?.['org.opencontainers.image.ref.name'] ?? inheritedName;
      if (d.mediaType === MediaType.ociIndex || d.mediaType === MediaType.dockerManifestList) {
        await visit(pickPlatform(parseJson<ImageIndex>(bytes, label, d.digest), label), refName);
        continue;
      }
      if (d.mediaType !== MediaType.ociManifest && d.mediaType !== MediaType.dockerManifest) continue; // unknown types are ignored (image-spec)
      const manifest = parseJson<ImageManifest>(bytes, label, d.digest);
      await storeSpooled(store, contents, label, blobName(manifest.config.digest), manifest.config);
      for (const layer of manifest.layers) await storeSpooled(store, contents, label, blobName(layer.digest), layer);
      // A bare tag ("latest", as skopeo writes it) names no repository: the image is loaded without a name.
      const names = refName && /[/:]/.test(refName) ? normalizeNames([refName], label) : [];
      images.push({ configDigest: manifest.config.digest, manifest, manifestBytes: bytes, names });
    }
  };
  await visit(index.manifests ?? []);
  if (!images.length) throw new DevboxError(`${label}: index.json lists no image manifests`);
  return images;
}

export async function loadArchive(store: ImageStore, path: string): Promise<StoredImage[]> {
  const label = path;
  const { mapping } = resolveIdMapping();
  let source;
  try {
    source = createReadStream(path);
    await new Promise((resolve, reject) => source!.once('open', resolve).once('error', reject));
  } catch (error) {
    throw new DevboxError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const ids = await store.withLock(async () => {
    const contents = await readArchive(store.root, source!, label);
    try {
      const images = contents.small.has('manifest.json') ? await loadDockerArchive(store, contents, label) : contents.small.has('index.json') ? await loadOciArchive(store, contents, label) : undefined;
      if (!images) throw new DevboxError(`${label}: not a docker-archive or oci-archive (no manifest.json or index.json)`);
      const registered: string[] = [];
      for (const image of images) {
        const config = await readBlobJson<ImageConfig>(store.root, image.configDigest);
        for (const [i, layer] of image.manifest.layers.entries()) await unpackLayer(store.root, mapping, layer.digest, config.rootfs.diff_ids[i]);
        const manifestBlob = await writeBlobBytes(store.root, image.manifestBytes ?? JSON.stringify(image.manifest));
        await store.addImage(image.configDigest, manifestBlob.digest, image.names);
        registered.push(image.configDigest);
      }
      return registered;
    } catch (error) {
      await collectGarbage(store, mapping); // blobs and layers of the failed load are referenced by nothing
      throw error;
    } finally {
      await contents.cleanup();
    }
  });
  return Promise.all(ids.map((id) => store.resolve(id)));
}
