/**
 * `devbox pull`: resolve the reference to one image manifest (choosing the platform from an index), then,
 * under the store lock, download the config and, beside it, the layers (three at a time, as Docker does), each
 * layer unpacked while it downloads and put in place only once its blob matched its digest and its content the
 * config's diffID. Blobs and layers already in the store are not fetched again. The image is registered
 * last; on any failure what this pull added is collected again, so the store is as it was. A pull killed
 * midway leaves complete layers, which the next pull reuses, and temp files, which the next writer removes.
 * Mirrors are tried in order before the registry itself.
 */
import { PassThrough } from 'node:stream';
import { blobExists, readBlobJson, shortDigest, writeBlobBytes } from '../image/blobs.js';
import { collectGarbage } from '../image/gc.js';
import { isLayerUnpacked } from '../image/layer-paths.js';
import type { Descriptor, ImageConfig, Platform } from '../image/oci.js';
import { hostPlatform, parsePlatform } from '../image/platform.js';
import { normalizedName, parseReference, repositoryName, type ImageReference } from '../image/reference.js';
import type { ImageStore, StoredImage } from '../image/store.js';
import { clearInterruptedUnpacks, unpackLayer, unpackLayerStream } from '../image/unpack.js';
import { readSettings } from '../settings/settings.js';
import { resolveIdMapping, type IdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import { downloadBlob } from './blob-download.js';
import { RegistryClient } from './client.js';
import { pullEndpoints } from './endpoints.js';
import { resolveManifest, type ResolvedManifest } from './manifest.js';
import { progressFor, type Progress, type ProgressMode } from '../util/progress.js';

export interface PullOptions {
  /** os/arch[/variant]; default: the defaultPlatform setting, else the host's. */
  platform?: string;
  /** Where to report: the caller's progress, or the mode of one of its own (default `auto`). */
  progress?: Progress | ProgressMode;
  /**
   * Store the layers' blobs only: each is unpacked when something first needs its files (ImageStore.layerDirs),
   * and its content checked against the config's diffID then. For a build whose steps may all come from a
   * build cache, which then never needs the base image's files.
   */
  deferUnpack?: boolean;
  /** The id map the layers are unpacked for (layers are unpacked per map); default: a container's default map. */
  mapping?: IdMapping;
}

/** Docker's default max-concurrent-downloads. */
const PARALLEL_DOWNLOADS = 3;

/** How the reference reads in messages: as given, fully qualified. */
function displayName(ref: ImageReference): string {
  return ref.digest ? `${repositoryName(ref)}@${ref.digest}` : normalizedName(ref);
}

function wantedPlatform(option: string | undefined): Platform {
  const text = option || readSettings().defaultPlatform;
  return text ? parsePlatform(text) : hostPlatform();
}

class ImagePull {
  constructor(
    private readonly store: ImageStore,
    private readonly mapping: IdMapping,
    private readonly client: RegistryClient,
    private readonly progress: Progress,
    private readonly deferUnpack = false,
  ) {}

  private async config(descriptor: Descriptor, layerCount: number): Promise<ImageConfig> {
    if (!blobExists(this.store.root, descriptor.digest)) {
      const report = this.progress.transfer('Copying config', shortDigest(descriptor.digest), descriptor.size);
      await downloadBlob(this.client, this.store.root, descriptor, { progress: report });
      report.finish('done');
    }
    const config = await readBlobJson<ImageConfig>(this.store.root, descriptor.digest);
    const diffIDs = config?.rootfs?.diff_ids;
    if (!Array.isArray(diffIDs) || diffIDs.length !== layerCount || diffIDs.some((d) => typeof d !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(d))) {
      throw new DevboxError(`the image config ${shortDigest(descriptor.digest)} does not list one sha256 diffID per layer of its manifest (${layerCount})`);
    }
    return config;
  }

  /**
   * One layer: reused when its blob is stored, else downloaded and (unless deferred) unpacked at once. `diffID`
   * comes with the config, which downloads meanwhile: a new layer needs it only once it is unpacked.
   */
  private async layer(descriptor: Descriptor, diffID: Promise<string>, signal: AbortSignal): Promise<void> {
    const root = this.store.root;
    if (blobExists(root, descriptor.digest)) {
      const expected = await diffID;
      const unpacked = isLayerUnpacked(root, this.mapping, expected);
      const report = this.progress.transfer('Copying blob', shortDigest(descriptor.digest), descriptor.size);
      if (!this.deferUnpack) await unpackLayer(root, this.mapping, descriptor.digest, expected);
      report.finish(unpacked || this.deferUnpack ? 'skipped: already exists' : 'unpacked from the store');
      return;
    }
    const report = this.progress.transfer('Copying blob', shortDigest(descriptor.digest), descriptor.size);
    if (this.deferUnpack) {
      await downloadBlob(this.client, root, descriptor, { progress: report, signal });
      report.finish('done');
      return;
    }
    const tee = new PassThrough({ highWaterMark: 1 << 20 });
    const verified = downloadBlob(this.client, root, descriptor, { progress: report, tee, signal });
    const unpacked = unpackLayerStream(root, this.mapping, tee, { label: `layer ${shortDigest(descriptor.digest)}`, expectedDiffID: diffID, verified });
    unpacked.catch(() => tee.resume()); // an unpacker that failed before reading must not stall the download
    const [download, unpack] = await Promise.allSettled([verified, unpacked]);
    if (download.status === 'rejected') throw download.reason;
    if (unpack.status === 'rejected') throw unpack.reason;
    report.finish('done');
  }

  /**
   * Every layer, PARALLEL_DOWNLOADS at a time, while `diffIDs` comes (the config); the first failure, the
   * config's included, stops the others and is thrown.
   */
  private async layers(layers: readonly Descriptor[], diffIDs: Promise<readonly string[]>): Promise<void> {
    const abort = new AbortController();
    const errors: unknown[] = [];
    diffIDs.catch((error) => {
      errors.push(error);
      abort.abort();
    });
    const diffID = (i: number) => {
      const id = diffIDs.then((ids) => ids[i]);
      id.catch(() => {}); // the config's failure is reported above; a layer may not have come to ask yet
      return id;
    };
    const queue = [...new Map(layers.map((l, i) => [l.digest, { layer: l, diffID: diffID(i) }])).values()];
    const worker = async () => {
      for (let next = queue.shift(); next && !abort.signal.aborted; next = queue.shift()) {
        try {
          await this.layer(next.layer, next.diffID, abort.signal);
        } catch (error) {
          errors.push(error);
          abort.abort();
        }
      }
    };
    // The config too: layers already unpacked, or only stored (deferUnpack), do not wait for it.
    await Promise.all([...Array.from({ length: PARALLEL_DOWNLOADS }, worker), diffIDs.catch(() => {})]);
    if (errors.length) throw errors[0];
  }

  async run(resolved: ResolvedManifest, names: string[], repoDigest: string): Promise<string> {
    const { manifest } = resolved;
    return this.store.withLock(async () => {
      try {
        await clearInterruptedUnpacks(this.store.root, this.mapping);
        const diffIDs = this.config(manifest.config, manifest.layers.length).then((c) => c.rootfs.diff_ids);
        await this.layers(manifest.layers, diffIDs);
        this.progress.note('Writing manifest to image destination');
        await writeBlobBytes(this.store.root, resolved.bytes);
        await this.store.addImages([
          {
            id: manifest.config.digest,
            manifestDigest: resolved.digest,
            names,
            digests: resolved.indexDigest ? [resolved.indexDigest] : [],
            repoDigests: [repoDigest],
          },
        ]);
        return manifest.config.digest;
      } catch (error) {
        await collectGarbage(this.store, this.mapping); // what this pull added is referenced by nothing
        throw error;
      }
    });
  }
}

/** An image just pulled, with the digest the reference resolved to (the index's when it named one). */
export interface PulledImage extends StoredImage {
  registryDigest: string;
}

async function pullFrom(
  store: ImageStore,
  mapping: IdMapping,
  client: RegistryClient,
  ref: ImageReference,
  platform: Platform,
  progress: Progress,
  deferUnpack: boolean,
): Promise<{ id: string; digest: string }> {
  const resolved = await resolveManifest(client, ref.digest ?? ref.tag ?? 'latest', platform);
  const names = ref.digest ? [] : [normalizedName(ref)];
  const digest = resolved.indexDigest ?? resolved.digest;
  // Recorded under the repository asked for (not a mirror's path): that is what a later pull by digest names.
  const id = await new ImagePull(store, mapping, client, progress, deferUnpack).run(resolved, names, `${repositoryName(ref)}@${digest}`);
  return { id, digest };
}

/** Pulls `refText` into the store and returns the image. Errors name the reference: "cannot pull REF: CAUSE". */
export async function pullImage(store: ImageStore, refText: string, options: PullOptions = {}): Promise<PulledImage> {
  const ref = parseReference(refText);
  const name = displayName(ref);
  const platform = wantedPlatform(options.platform);
  const mapping = options.mapping ?? resolveIdMapping().mapping;
  const { progress, own } = progressFor(options.progress);
  let pulled: { id: string; digest: string } | undefined;
  try {
    progress.note(`Trying to pull ${name}...`);
    for (const endpoint of pullEndpoints(ref, readSettings())) {
      const client = RegistryClient.forRepository(endpoint, ['pull']);
      try {
        pulled = await pullFrom(store, mapping, client, ref, platform, progress, options.deferUnpack ?? false);
        break;
      } catch (error) {
        if (!endpoint.mirror || !(error instanceof DevboxError)) throw error;
        progress.note(`Mirror ${endpoint.host} failed (${error.toLine()}); trying the next source`);
      }
    }
  } catch (error) {
    if (!(error instanceof DevboxError)) throw error;
    throw new DevboxError(`cannot pull ${name}: ${error.message}`, { fix: error.fix, kind: error.kind, cause: error });
  } finally {
    if (own) progress.stop();
  }
  return { ...(await store.resolve(pulled!.id)), registryDigest: pulled!.digest };
}
