/**
 * The local image store (layout in docs/configuration.md). Readers take no lock: every write is a temp file
 * fsynced and renamed into place. Writers (import, load, rmi, unpacking) hold the store lock.
 * `devbox run` comes through here on its hot path: resolving an image is three small JSON reads, and the
 * modules that write (tar, lock, archives, unpacking) are imported only when needed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSettings } from '../settings/settings.js';
import type { IdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import { compareCodeUnits } from '../util/format.js';
import { blobPath, digestHex, readBlobJson } from './blobs.js';
import { writeStoreFile } from './durable.js';
import { layerDir, layerRecordPath, layerSizeReader } from './layer-paths.js';
import { ensurePrivateStoreRoot } from './store-root.js';
import type { ImageConfig, ImageManifest } from './oci.js';
import { familiarName, nameForTagging, normalizedName, parseReference, repositoryName, type ImageReference } from './reference.js';

export interface ImageRecord {
  manifest: string;
  names: string[];
  created: string;
  /** Other digests the image is known by: the manifest lists or indexes it was pulled through. */
  digests?: string[];
  /** REPOSITORY@DIGEST it was pulled as (Docker's RepoDigests): the digest its registry has it under, index
   * digest first when it came through one. Absent for images built, imported or loaded here. */
  repoDigests?: string[];
}

/** images.json */
export interface ImageIndexFile {
  version: 1;
  images: Record<string, ImageRecord>;
  /**
   * Ids of images removed (rmi --force) while a container or sandbox ran from them: no longer listed or found,
   * but their config and unpacked layers stay until a collection that knows it has ended (gc.ts).
   */
  retained?: string[];
}

export interface StoredImage {
  /** The config digest, as Docker and podman name image ids. */
  id: string;
  names: string[];
  manifestDigest: string;
  manifest: ImageManifest;
  config: ImageConfig;
}

export interface ImageSummary {
  id: string;
  names: string[];
  created: string;
  /** Bytes of the image's layers uncompressed (imageSize). */
  size: number;
}

/** What a reference found: the image id, and the name when it named the image by one of its names. */
export interface FoundImage {
  id: string;
  name?: string;
}

export function unknownImage(ref: string): DevboxError {
  return new DevboxError(`unknown image "${ref}"`, {
    fix: 'see "devbox images"; load one with "devbox image load -i FILE" or "devbox image import ROOTFS.tar NAME"',
  });
}

const SHORT_ID = /^[a-f0-9]{4,64}$/;

/**
 * What docker and podman show as an image's size: its layers uncompressed. A layer never unpacked here counts
 * with its diffID's size unknown, so with its blob's (compressed) size.
 */
function imageSize(manifest: ImageManifest, config: ImageConfig, sizeOf: (diffID: string) => number | undefined): number {
  const diffIDs = config.rootfs?.diff_ids ?? [];
  return manifest.layers.reduce((n, l, i) => n + ((diffIDs[i] ? sizeOf(diffIDs[i]) : undefined) ?? l.size), 0);
}

export class ImageStore {
  private constructor(readonly root: string) {}

  /** The store at `root`, created (or, when others could enter it, tightened) as its user's alone. */
  static open(root: string = readSettings().storageRoot): ImageStore {
    ensurePrivateStoreRoot(root);
    return new ImageStore(root);
  }

  private get indexPath(): string {
    return join(this.root, 'images.json');
  }

  readIndex(): ImageIndexFile {
    let index: ImageIndexFile;
    try {
      index = JSON.parse(readFileSync(this.indexPath, 'utf8')) as ImageIndexFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, images: {} };
      throw new DevboxError(`${this.indexPath} is unreadable: ${(error as Error).message}`, { fix: 'restore it or remove the store' });
    }
    if (index.version !== 1 || typeof index.images !== 'object' || index.images === null) {
      throw new DevboxError(`${this.indexPath}: unknown format (version ${String(index.version)})`, { fix: 'was it written by a newer devbox?' });
    }
    return index;
  }

  /** Replaces the index atomically and durably; call under the lock. */
  async writeIndex(index: ImageIndexFile): Promise<void> {
    await writeStoreFile(this.root, this.indexPath, JSON.stringify(index, null, 1));
  }

  /** Runs fn holding the store lock (re-entrant), so concurrent devbox commands never interleave writes. */
  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const { withStoreLock } = await import('./store-lock.js');
    return withStoreLock(this.root, fn);
  }

  /**
   * The image a reference names, as podman looks it up: a full image id; a name (normalized, so `busybox`
   * is docker.io/library/busybox:latest) or name@digest; else a unique prefix (≥ 4 hex digits) of an id.
   */
  find(ref: string, index: ImageIndexFile = this.readIndex()): FoundImage | undefined {
    const hex = ref.startsWith('sha256:') ? ref.slice('sha256:'.length) : ref;
    if (/^[a-f0-9]{64}$/.test(hex) && index.images[`sha256:${hex}`]) return { id: `sha256:${hex}` };
    const looksLikeId = SHORT_ID.test(hex);
    let parsed: ImageReference | undefined;
    try {
      parsed = parseReference(ref);
    } catch (error) {
      if (!looksLikeId) throw error;
    }
    const entries = Object.entries(index.images);
    if (parsed?.digest) {
      const { digest } = parsed;
      const repo = `${repositoryName(parsed)}:`;
      const byDigest = entries.filter(([, r]) => r.manifest === digest || r.digests?.includes(digest));
      const match = byDigest.find(([, r]) => r.names.some((n) => n.startsWith(repo))) ?? byDigest[0];
      if (match) return { id: match[0] };
    } else if (parsed) {
      const name = normalizedName(parsed);
      const match = entries.find(([, r]) => r.names.includes(name));
      if (match) return { id: match[0], name };
    }
    if (!looksLikeId) return undefined;
    const matches = entries.filter(([id]) => digestHex(id).startsWith(hex));
    if (matches.length > 1) throw new DevboxError(`image id prefix "${ref}" is ambiguous`, { fix: 'give more digits' });
    return matches.length ? { id: matches[0][0] } : undefined;
  }

  /** The image for a reference (see find); unknown → DevboxError (unknownImage). */
  async resolve(ref: string): Promise<StoredImage> {
    const index = this.readIndex();
    const found = this.find(ref, index);
    if (!found) throw unknownImage(ref);
    const record = index.images[found.id];
    const manifest = await readBlobJson<ImageManifest>(this.root, record.manifest);
    const config = await readBlobJson<ImageConfig>(this.root, found.id);
    return { id: found.id, names: record.names, manifestDigest: record.manifest, manifest, config };
  }

  /**
   * Unpacked layer directories (overlay lowerdirs), bottom layer first, for this id mapping. Layers not yet
   * unpacked for it are unpacked first, under the lock.
   */
  async layerDirs(image: StoredImage, mapping: IdMapping): Promise<string[]> {
    const diffIDs = image.config.rootfs?.diff_ids ?? [];
    if (diffIDs.length !== image.manifest.layers.length) {
      throw new DevboxError(`image ${ImageStore.shortId(image.id)}: its config lists ${diffIDs.length} layers, its manifest ${image.manifest.layers.length}`, {
        fix: 'the image is corrupt: remove it and load it again',
      });
    }
    const dirs = diffIDs.map((d) => layerDir(this.root, mapping, d));
    if (dirs.every((d) => existsSync(layerRecordPath(d)))) return dirs;
    const { unpackLayer } = await import('./unpack.js');
    await this.withLock(async () => {
      for (const [i, diffID] of diffIDs.entries()) await unpackLayer(this.root, mapping, image.manifest.layers[i].digest, diffID);
    });
    return dirs;
  }

  /** Adds images (their blobs already stored) in one index write; names move to them from other images. */
  async addImages(
    images: readonly { id: string; manifestDigest: string; names: readonly string[]; digests?: readonly string[]; repoDigests?: readonly string[] }[],
  ): Promise<void> {
    await this.withLock(async () => {
      const index = this.readIndex();
      for (const image of images) {
        for (const record of Object.values(index.images)) record.names = record.names.filter((n) => !image.names.includes(n));
        const existing = index.images[image.id];
        const digests = [...new Set([...(existing?.digests ?? []), ...(image.digests ?? [])])];
        // The latest pull last: registryDigest answers with the newest one.
        const repoDigests = [...(existing?.repoDigests ?? []).filter((d) => !image.repoDigests?.includes(d)), ...(image.repoDigests ?? [])];
        index.images[image.id] = {
          manifest: image.manifestDigest,
          names: [...new Set([...(existing?.names ?? []), ...image.names])],
          created: existing?.created ?? new Date().toISOString(),
          ...(digests.length ? { digests } : {}),
          ...(repoDigests.length ? { repoDigests } : {}),
        };
      }
      await this.writeIndex(index);
    });
  }

  /**
   * The digest `repository` (host/path) had the image under when it was last pulled from there;
   * undefined for an image that never came from that repository (built, imported, loaded).
   */
  registryDigest(id: string, repository: string, index: ImageIndexFile = this.readIndex()): string | undefined {
    const prefix = `${repository}@`;
    return index.images[id]?.repoDigests
      ?.filter((d) => d.startsWith(prefix))
      .at(-1)
      ?.slice(prefix.length);
  }

  /** Adds names to an image (`docker tag`); a name another image had moves to this one. */
  async tag(ref: string, targets: readonly string[]): Promise<void> {
    const names = targets.map((t) => nameForTagging(t, 'tag as'));
    await this.withLock(async () => {
      const image = await this.resolve(ref);
      await this.addImages([{ id: image.id, manifestDigest: image.manifestDigest, names }]);
    });
  }

  /**
   * Every image, newest first. Synchronous (a few small reads per image): `devbox ps` calls it to name
   * containers' images.
   */
  list(): ImageSummary[] {
    const index = this.readIndex();
    const sizeOf = layerSizeReader(this.root);
    const summaries = Object.entries(index.images).map(([id, record]) => {
      let created = record.created;
      let size = 0;
      try {
        const config = JSON.parse(readFileSync(blobPath(this.root, id), 'utf8')) as ImageConfig;
        created = config.created ?? created;
        const manifest = JSON.parse(readFileSync(blobPath(this.root, record.manifest), 'utf8')) as ImageManifest;
        size = imageSize(manifest, config, sizeOf);
      } catch {
        // a damaged entry still lists, with what the index knows
      }
      return { id, names: record.names, created, size };
    });
    return summaries.sort((a, b) => compareCodeUnits(b.created, a.created));
  }

  /** What `devbox image inspect` shows for one image, in podman's field names. */
  async inspect(ref: string): Promise<Record<string, unknown>> {
    const image = await this.resolve(ref);
    const repos = [...new Set(image.names.map((n) => n.slice(0, n.lastIndexOf(':'))))];
    return {
      Id: digestHex(image.id),
      Digest: image.manifestDigest,
      RepoTags: image.names.map(familiarName),
      RepoDigests: repos.map((r) => `${r}@${image.manifestDigest}`),
      Created: image.config.created,
      Author: image.config.author,
      Architecture: image.config.architecture,
      Os: image.config.os,
      ...(image.config.variant ? { Variant: image.config.variant } : {}),
      Size: imageSize(image.manifest, image.config, layerSizeReader(this.root)),
      Labels: image.config.config?.Labels ?? null,
      Config: image.config.config ?? {},
      RootFS: { Type: 'layers', Layers: image.config.rootfs?.diff_ids ?? [] },
      History: image.config.history ?? [],
      ManifestType: image.manifest.mediaType,
    };
  }

  /** For display: image id as Docker shows it (12 hex digits). */
  static shortId(id: string): string {
    return digestHex(id).slice(0, 12);
  }
}
