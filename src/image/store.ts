/**
 * The local image store (layout in docs/configuration.md). Readers take no lock: every write is a temp file
 * renamed into place. Writers (import, load, rmi, unpacking) hold the store lock. Loaded lazily on the hot
 * path: resolving an image is three small JSON reads.
 */
import { existsSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import { readSettings } from '../settings/settings.js';
import { blobPath, digestHex, readBlobJson } from './blobs.js';
import type { ImageConfig, ImageManifest } from './oci.js';
import { familiarName, normalizedName, parseReference, repositoryName } from './reference.js';

export interface ImageRecord {
  manifest: string;
  names: string[];
  created: string;
}

interface IndexFile {
  version: 1;
  images: Record<string, ImageRecord>;
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
  size: number;
}

const LOCK_OPTIONS = { realpath: false, stale: 30_000, retries: { retries: 600, minTimeout: 50, maxTimeout: 200 } };

export class ImageStore {
  private constructor(readonly root: string) {}

  static open(root: string = readSettings().storageRoot): ImageStore {
    return new ImageStore(root);
  }

  private get indexPath(): string {
    return join(this.root, 'images.json');
  }

  readIndex(): IndexFile {
    try {
      return JSON.parse(readFileSync(this.indexPath, 'utf8')) as IndexFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, images: {} };
      throw new DevboxError(`${this.indexPath} is unreadable: ${(error as Error).message}`, { fix: 'restore it or remove the store' });
    }
  }

  /** Replaces the index atomically; call under the lock. */
  async writeIndex(index: IndexFile): Promise<void> {
    const temp = `${this.indexPath}.${process.pid}.tmp`;
    const handle = await fs.open(temp, 'w');
    await handle.writeFile(JSON.stringify(index, null, 1));
    await handle.sync();
    await handle.close();
    await fs.rename(temp, this.indexPath);
  }

  /** Runs fn holding the store lock, so concurrent devbox commands never interleave their writes. */
  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    await fs.mkdir(join(this.root, 'tmp'), { recursive: true });
    const lockPath = join(this.root, 'lock');
    const { default: lockfile } = await import('proper-lockfile');
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(lockPath, LOCK_OPTIONS);
    } catch (error) {
      throw new DevboxError(`the store ${this.root} is locked by another devbox command`, { fix: 'wait for it to finish', cause: error });
    }
    try {
      return await fn();
    } finally {
      await release();
    }
  }

  /** The image id a reference names: a name, name@digest, or a full or shortened (≥ 4 hex digits) image id. */
  findId(ref: string, index = this.readIndex()): string | undefined {
    const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
    if (/^[a-f0-9]{4,64}$/.test(hex)) {
      const matches = Object.keys(index.images).filter((id) => id.slice(7).startsWith(hex));
      if (matches.length === 1) return matches[0];
      if (matches.length > 1) throw new DevboxError(`image id prefix "${ref}" is ambiguous`, { fix: 'give more digits', exitCode: 125 });
    }
    const parsed = parseReference(ref);
    const entries = Object.entries(index.images);
    if (parsed.digest) {
      const repo = repositoryName(parsed);
      return entries.find(([, r]) => r.manifest === parsed.digest && r.names.some((n) => n.startsWith(`${repo}:`)))?.[0] ?? entries.find(([, r]) => r.manifest === parsed.digest)?.[0];
    }
    const name = normalizedName(parsed);
    return entries.find(([, r]) => r.names.includes(name))?.[0];
  }

  async resolve(ref: string): Promise<StoredImage> {
    const index = this.readIndex();
    const id = this.findId(ref, index);
    if (!id) {
      throw new DevboxError(`unknown image "${ref}"`, {
        fix: 'see "devbox images"; load one with "devbox image load -i FILE" or "devbox image import ROOTFS.tar NAME"',
        exitCode: 125,
      });
    }
    const record = index.images[id];
    const manifest = await readBlobJson<ImageManifest>(this.root, record.manifest);
    const config = await readBlobJson<ImageConfig>(this.root, id);
    return { id, names: record.names, manifestDigest: record.manifest, manifest, config };
  }

  /** Unpacked layer directories, bottom first, for this id mapping; missing ones are unpacked first. */
  async layerDirs(image: StoredImage, mapping: IdMapping): Promise<string[]> {
    const { layerDir, layerRecordPath, unpackLayer } = await import('./unpack.js');
    const diffIDs = image.config.rootfs.diff_ids;
    if (diffIDs.length !== image.manifest.layers.length) {
      throw new DevboxError(`image ${image.id.slice(7, 19)}: its config lists ${diffIDs.length} layers, its manifest ${image.manifest.layers.length}`, { fix: 'the image is corrupt' });
    }
    const dirs = diffIDs.map((d) => layerDir(this.root, mapping, d));
    if (dirs.every((d) => existsSync(layerRecordPath(d)))) return dirs;
    await this.withLock(async () => {
      for (const [i, dir] of dirs.entries()) {
        if (!existsSync(layerRecordPath(dir))) await unpackLayer(this.root, mapping, image.manifest.layers[i].digest, diffIDs[i]);
      }
    });
    return dirs;
  }

  /** Adds an image (its blobs already in the store) and gives it `names`, taking them from other images. */
  async addImage(id: string, manifestDigest: string, names: string[]): Promise<void> {
    const index = this.readIndex();
    for (const record of Object.values(index.images)) record.names = record.names.filter((n) => !names.includes(n));
    const existing = index.images[id];
    index.images[id] = {
      manifest: manifestDigest,
      names: [...new Set([...(existing?.names ?? []), ...names])],
      created: existing?.created ?? new Date().toISOString(),
    };
    await this.writeIndex(index);
  }

  list(): ImageSummary[] {
    const index = this.readIndex();
    return Object.entries(index.images).map(([id, record]) => {
      let created = record.created;
      let size = 0;
      try {
        const config = JSON.parse(readFileSync(blobPath(this.root, id), 'utf8')) as ImageConfig;
        created = config.created ?? created;
        const manifest = JSON.parse(readFileSync(blobPath(this.root, record.manifest), 'utf8')) as ImageManifest;
        size = manifest.layers.reduce((n, l) => n + l.size, 0);
      } catch {
        // a damaged entry still lists, with what the index knows
      }
      return { id, names: record.names, created, size };
    });
  }

  /** Ids of images that a running container uses (containers/<id>/state.json with a live devbox pid). */
  imagesInUse(): Set<string> {
    const inUse = new Set<string>();
    const dir = join(this.root, 'containers');
    if (!existsSync(dir)) return inUse;
    for (const name of readdirSync(dir)) {
      try {
        const state = JSON.parse(readFileSync(join(dir, name, 'state.json'), 'utf8')) as { image: string; pid: number; exitCode?: number };
        if (state.exitCode !== undefined) continue;
        process.kill(state.pid, 0);
        inUse.add(state.image);
      } catch {
        // no state, or its process is gone
      }
    }
    return inUse;
  }

  async inspect(ref: string): Promise<Record<string, unknown>> {
    const image = await this.resolve(ref);
    return {
      Id: image.id.slice(7),
      Digest: image.manifestDigest,
      RepoTags: image.names.map(familiarName),
      Created: image.config.created,
      Architecture: image.config.architecture,
      Os: image.config.os,
      Size: image.manifest.layers.reduce((n, l) => n + l.size, 0),
      Config: image.config.config ?? {},
      RootFS: { Type: 'layers', Layers: image.config.rootfs.diff_ids },
      History: image.config.history ?? [],
      ManifestType: image.manifest.mediaType,
    };
  }

  hasBlob(digest: string): boolean {
    return existsSync(blobPath(this.root, digest));
  }

  /** For display: image id as Docker shows it (12 hex digits). */
  static shortId(id: string): string {
    return digestHex(id).slice(0, 12);
  }
}
