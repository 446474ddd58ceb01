/**
 * `devbox image load`: docker-archive (manifest.json + config + layer tars, as `docker save` and `podman save`
 * write it, including Docker ≥ 25's OCI layout inside) and oci-archive (oci-layout + index.json + blobs/).
 * Every blob is checked against the digest its manifest or path promises as it moves into the store, every
 * layer against the diffID its config names as it is unpacked, and the images are registered together only
 * when all of that passed: on any failure the store is left as it was.
 */
import { createReadStream, promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import { resolveIdMapping } from '../userns/idmap.js';
import { describeError, DevboxError } from '../util/errors.js';
import {
  digestFromArchivePath,
  normalizeNames,
  ociBlobPath,
  ociRefName,
  parseDockerArchiveManifest,
  parseImageIndex,
  parseImageManifest,
  selectPlatform,
} from './archive-manifest.js';
import { readArchive, resolveArchivePath, type ArchiveContents } from './archive-read.js';
import { adoptSpooled, blobPath, isDigest, readBlobJson, writeBlobBytes, type WrittenBlob } from './blobs.js';
import { collectGarbage } from './gc.js';
import { checkSupportedCompression, detectCompression, layerMediaType } from './layer-stream.js';
import { hostArchitecture, isImageIndexType, isImageManifestType, MediaType, type Descriptor, type ImageConfig, type ImageManifest } from './oci.js';
import type { ImageStore, StoredImage } from './store.js';
import { unpackLayer } from './unpack.js';

interface LoadedImage {
  id: string;
  config: ImageConfig;
  manifest: ImageManifest;
  manifestDigest: string;
  names: string[];
}

async function readHead(path: string): Promise<Buffer> {
  const handle = await fs.open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

class ArchiveLoader {
  /** Archive paths already moved into blobs/ (a layer may be listed twice), with what they hashed to. */
  private readonly stored = new Map<string, WrittenBlob>();

  constructor(
    private readonly store: ImageStore,
    private readonly contents: ArchiveContents,
    private readonly label: string,
  ) {}

  /** A small member (manifest, config, index), read in memory. */
  member(name: string): Buffer {
    const data = this.contents.small.get(resolveArchivePath(this.contents, name));
    if (!data) throw new DevboxError(`${this.label}: the archive has no "${name}"`, { fix: 'is it a complete docker-archive or oci-archive?' });
    return data;
  }

  /** Moves a member into blobs/, checking it against `expected` or the digest its path promises. */
  async storeMember(name: string, what: string, expected?: { digest: string; size?: number }): Promise<WrittenBlob> {
    const path = resolveArchivePath(this.contents, name);
    const file = this.contents.files.get(path);
    if (!file) throw new DevboxError(`${this.label}: the archive has no "${name}"`, { fix: 'is it a complete docker-archive or oci-archive?' });
    const promised = expected ?? (digestFromArchivePath(path) ? { digest: digestFromArchivePath(path)! } : undefined);
    const done = this.stored.get(path);
    if (done && promised && done.digest !== promised.digest) {
      throw new DevboxError(`${this.label}: ${what} ${promised.digest}: content does not match its digest (got ${done.digest})`);
    }
    const blob = done ?? (await adoptSpooled(this.store.root, file, promised, `${this.label}: ${what}`));
    this.stored.set(path, blob);
    return blob;
  }

  async config(digest: string, layerCount: number, where: string): Promise<ImageConfig> {
    const config = await readBlobJson<ImageConfig>(this.store.root, digest);
    const diffIDs = config?.rootfs?.diff_ids;
    if (!Array.isArray(diffIDs) || diffIDs.length !== layerCount) {
      throw new DevboxError(`${this.label}: the config of ${where} lists ${Array.isArray(diffIDs) ? diffIDs.length : 'no'} layers, its manifest ${layerCount}`);
    }
    const bad = diffIDs.find((d) => typeof d !== 'string' || !isDigest(d));
    if (bad !== undefined) throw new DevboxError(`${this.label}: the config of ${where} names the layer "${String(bad)}", not a sha256 digest`);
    return config;
  }

  async loadDockerArchive(): Promise<LoadedImage[]> {
    const images: LoadedImage[] = [];
    for (const entry of parseDockerArchiveManifest(this.member('manifest.json'), this.label)) {
      const configBlob = await this.storeMember(entry.Config, 'config');
      const config = await this.config(configBlob.digest, entry.Layers.length, entry.Config);
      const layers: Descriptor[] = [];
      for (const name of entry.Layers) {
        const blob = await this.storeMember(name, `layer ${name}`);
        const compression = detectCompression(await readHead(blobPath(this.store.root, blob.digest)));
        checkSupportedCompression(compression, `${this.label}: layer ${name}`);
        layers.push({ mediaType: layerMediaType(compression), ...blob });
      }
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, ...configBlob },
        layers,
      };
      const manifestBlob = await writeBlobBytes(this.store.root, JSON.stringify(manifest));
      images.push({ id: configBlob.digest, config, manifest, manifestDigest: manifestBlob.digest, names: normalizeNames(entry.RepoTags, this.label) });
    }
    return images;
  }

  async loadOciArchive(): Promise<LoadedImage[]> {
    const images: LoadedImage[] = [];
    const visit = async (descriptors: readonly Descriptor[], inheritedName: string | undefined, depth: number): Promise<void> => {
      if (depth > 4) throw new DevboxError(`${this.label}: image indexes nested too deeply`);
      for (const d of selectPlatform(descriptors, hostArchitecture(), this.label)) {
        const name = ociRefName(d.annotations) ?? inheritedName;
        if (!isImageIndexType(d.mediaType) && !isImageManifestType(d.mediaType)) continue; // unknown types are ignored (image-spec)
        await this.storeMember(ociBlobPath(d.digest), isImageIndexType(d.mediaType) ? 'image index' : 'manifest', d);
        const bytes = this.member(ociBlobPath(d.digest));
        if (isImageIndexType(d.mediaType)) {
          await visit(parseImageIndex(bytes, this.label, d.digest).manifests, name, depth + 1);
          continue;
        }
        const manifest = parseImageManifest(bytes, this.label, d.digest);
        const configBlob = await this.storeMember(ociBlobPath(manifest.config.digest), 'config', manifest.config);
        for (const layer of manifest.layers) await this.storeMember(ociBlobPath(layer.digest), 'layer', layer);
        const config = await this.config(configBlob.digest, manifest.layers.length, d.digest);
        images.push({ id: configBlob.digest, config, manifest, manifestDigest: d.digest, names: name ? normalizeNames([name], this.label) : [] });
      }
    };
    await visit(parseImageIndex(this.member('index.json'), this.label, 'index.json').manifests, undefined, 0);
    if (!images.length) throw new DevboxError(`${this.label}: index.json lists no image this devbox can load`);
    return images;
  }

  async load(): Promise<LoadedImage[]> {
    // Docker ≥ 25 writes an OCI layout and a manifest.json: the latter has the names, so it wins.
    if (this.contents.small.has('manifest.json')) return this.loadDockerArchive();
    if (this.contents.small.has('index.json')) return this.loadOciArchive();
    throw new DevboxError(`${this.label}: not a docker-archive or oci-archive (it has no manifest.json or index.json)`);
  }
}

function openSource(path: string): Promise<Readable> {
  if (path === '-') return Promise.resolve(process.stdin);
  const stream = createReadStream(path);
  return new Promise((resolve, reject) => {
    stream.once('open', () => resolve(stream));
    stream.once('error', (error) => reject(new DevboxError(`cannot read ${path}: ${describeError(error)}`)));
  });
}

/** An image as loaded: `loadedNames` are the names the archive gave it (it may have had others already). */
export interface LoadedArchiveImage extends StoredImage {
  loadedNames: string[];
}

/** Loads every image in the archive at `path` ("-": stdin) and returns them. */
export async function loadArchive(store: ImageStore, path: string): Promise<LoadedArchiveImage[]> {
  const label = path === '-' ? 'stdin' : path;
  const { mapping } = resolveIdMapping();
  const source = await openSource(path);
  const ids: Map<string, string[]> = await store.withLock(async () => {
    const contents = await readArchive(store.root, source, label);
    try {
      const images = await new ArchiveLoader(store, contents, label).load();
      for (const image of images) {
        for (const [i, layer] of image.manifest.layers.entries()) {
          await unpackLayer(store.root, mapping, layer.digest, image.config.rootfs.diff_ids[i]).catch((error: Error) => {
            throw new DevboxError(`${label}: ${error.message}`, { fix: (error as DevboxError).fix, cause: error });
          });
        }
      }
      await store.addImages(images.map((i) => ({ id: i.id, manifestDigest: i.manifestDigest, names: i.names })));
      const loaded = new Map<string, string[]>();
      for (const image of images) loaded.set(image.id, [...new Set([...(loaded.get(image.id) ?? []), ...image.names])]);
      return loaded;
    } catch (error) {
      await collectGarbage(store, mapping); // blobs and layers of the failed load are referenced by nothing
      throw error;
    } finally {
      await contents.cleanup();
    }
  });
  return Promise.all([...ids].map(async ([id, loadedNames]) => ({ ...(await store.resolve(id)), loadedNames })));
}
