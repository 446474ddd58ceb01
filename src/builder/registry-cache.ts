/**
 * A build's use of build caches in registries (the form is cache-manifest.ts's), so that one machine's build
 * steps (CI's) serve another machine's first build. `--cache-from` caches are read when the local step cache
 * first misses; a step found there is taken without fetching anything, and its layers are fetched only when
 * a step that runs needs the files below it or the final image has them. After the build, the steps taken
 * from a registry whose layers the store now has become local cache entries, and `--cache-to` writes the
 * build's steps: the final image's (mode=min, BuildKit's default) or every stage's (mode=max). Caches are
 * read through the registry's mirrors and written to the registry itself, with the stored credentials, as
 * pulls and pushes are.
 */
import { blobExists, readBlobJson, shortDigest, writeBlobBytes } from '../image/blobs.js';
import { writeBuildCacheEntry, type BuildCacheEntry } from '../image/build-cache-store.js';
import { MediaType, type Descriptor, type ImageManifest } from '../image/oci.js';
import type { ImageStore } from '../image/store.js';
import { downloadBlob } from '../registry/blob-download.js';
import { RegistryClient, RegistryStatusError } from '../registry/client.js';
import { pullEndpoints, registryEndpoint } from '../registry/endpoints.js';
import { fetchManifest } from '../registry/manifest.js';
import { putManifest, uploadBlob } from '../registry/upload.js';
import { readSettings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';
import type { Progress } from '../util/progress.js';
import { warn } from '../util/warn.js';
import {
  CACHE_CONFIG_MEDIA_TYPE,
  cacheReference,
  type CacheTo,
  decodeCacheConfig,
  encodeCacheConfig,
  type CacheConfig,
  type CacheRecordInput,
} from './cache-manifest.js';

/** A cache read from a registry: its entries, and its layer blobs, fetched on demand. */
interface RegistryCache {
  entries: Map<string, BuildCacheEntry>;
  /** Stores the blob of `layer` (call under the store lock). */
  fetch(layer: Descriptor, progress: Progress): Promise<void>;
}

/** One step of the build as the cache records it, with the stage it belongs to. */
interface StepRecord extends CacheRecordInput {
  stage: number;
}

const PARALLEL_UPLOADS = 3;

/** Reads the cache at `ref`, through the registry's mirrors as pulls go. */
async function readRegistryCache(store: ImageStore, ref: string, progress: Progress): Promise<RegistryCache> {
  const { name, reference, parsed } = cacheReference(ref);
  let lastError: unknown;
  for (const endpoint of pullEndpoints(parsed, readSettings())) {
    const client = RegistryClient.forRepository(endpoint, ['pull']);
    try {
      const manifest = JSON.parse((await fetchManifest(client, reference)).bytes.toString('utf8')) as ImageManifest;
      if (manifest.config?.mediaType !== CACHE_CONFIG_MEDIA_TYPE || !Array.isArray(manifest.layers))
        throw new DevboxError(`${name} is not a build cache (its config is ${manifest.config?.mediaType ?? 'missing'})`);
      if (!blobExists(store.root, manifest.config.digest)) {
        const report = progress.transfer('Copying config', shortDigest(manifest.config.digest), manifest.config.size);
        await store.withLock(() => downloadBlob(client, store.root, manifest.config, { progress: report }));
        report.finish('done');
      }
      const config = await readBlobJson<CacheConfig>(store.root, manifest.config.digest);
      const fetch = async (layer: Descriptor, progress: Progress) => {
        if (blobExists(store.root, layer.digest)) return;
        const report = progress.transfer('Copying blob', shortDigest(layer.digest), layer.size);
        await downloadBlob(client, store.root, layer, { progress: report });
        report.finish('done');
      };
      return { entries: decodeCacheConfig(config), fetch };
    } catch (error) {
      lastError = error;
      if (!endpoint.mirror || !(error instanceof DevboxError)) break;
    }
  }
  if (lastError instanceof RegistryStatusError && lastError.status === 404) throw new DevboxError(`there is no build cache at ${name} yet`);
  throw lastError;
}

/** The steps of one build that build caches in registries serve and receive. */
export class RegistryCacheUse {
  private caches?: Promise<RegistryCache[]>;
  /** Layer digest → the cache that has it, for layers of steps taken from a registry. */
  private readonly layerSources = new Map<string, RegistryCache>();
  /** Steps taken from a registry cache, by key. */
  private readonly imported = new Map<string, BuildCacheEntry>();
  /** Every step of the build, in the order they were taken or done. */
  private readonly steps: StepRecord[] = [];

  constructor(
    private readonly store: ImageStore,
    private readonly cacheFrom: readonly string[],
    private readonly progress: Progress,
  ) {}

  /** The result of step `key` in a `--cache-from` cache, or undefined. */
  async lookup(key: string, progress: Progress): Promise<BuildCacheEntry | undefined> {
    if (!this.cacheFrom.length) return undefined;
    this.caches ??= this.readCaches(progress);
    for (const cache of await this.caches) {
      const entry = cache.entries.get(key);
      if (!entry) continue;
      for (const layer of entry.layers) if (!this.layerSources.has(layer.digest)) this.layerSources.set(layer.digest, cache);
      this.imported.set(key, entry);
      return entry;
    }
    return undefined;
  }

  /** Each readable cache; one that cannot be read is a warning, and the build goes on without it (as BuildKit's). */
  private async readCaches(progress: Progress): Promise<RegistryCache[]> {
    const caches: RegistryCache[] = [];
    for (const ref of this.cacheFrom) {
      try {
        caches.push(await readRegistryCache(this.store, ref, progress));
      } catch (error) {
        if (!(error instanceof DevboxError)) throw error;
        warn(`build cache ${ref} not used: ${error.toLine()}`);
      }
    }
    return caches;
  }

  /** Makes sure the store has the blobs of `layers`, fetching those of steps taken from a registry. */
  async fetchLayers(layers: readonly Descriptor[], progress: Progress): Promise<void> {
    const missing = layers.filter((layer) => !blobExists(this.store.root, layer.digest));
    if (!missing.length) return;
    await this.store.withLock(async () => {
      for (const layer of missing) {
        const source = this.layerSources.get(layer.digest);
        if (!source)
          throw new DevboxError(`layer ${shortDigest(layer.digest)} is neither in the store nor in a build cache`, { fix: 'build again with --no-cache' });
        await source.fetch(layer, progress);
      }
    });
  }

  /** Notes a step of the build (taken from a cache or done), for --cache-to. */
  record(stage: number, parent: string, key: string, entry: BuildCacheEntry): void {
    this.steps.push({ stage, parent, key, entry });
  }

  /** Steps taken from a registry whose layers the store now has become local cache entries. */
  async keepImported(): Promise<void> {
    const complete = [...this.imported].filter(([, entry]) => entry.layers.every((layer) => blobExists(this.store.root, layer.digest)));
    if (!complete.length) return;
    await this.store.withLock(async () => {
      for (const [key, entry] of complete) await writeBuildCacheEntry(this.store.root, key, entry);
    });
  }

  /** Writes the build's steps to `to`: those of `finalStages` (the stages the image is made of) for mode=min. */
  async export(to: CacheTo, finalStages: ReadonlySet<number>): Promise<void> {
    const { name, reference: tag, parsed } = cacheReference(to.ref, true);
    const client = RegistryClient.forRepository(registryEndpoint(parsed, readSettings()), ['pull', 'push']);
    const { config, layers } = encodeCacheConfig(this.steps.filter((step) => to.mode === 'max' || finalStages.has(step.stage)));
    try {
      this.progress.note(`Writing the build cache to ${name}`);
      const queue = [...layers];
      const worker = async () => {
        for (let layer = queue.shift(); layer; layer = queue.shift()) await this.upload(client, layer);
      };
      await Promise.all(Array.from({ length: PARALLEL_UPLOADS }, worker));
      // Stored to be sent (uploads read the store), under the lock so that no gc takes it meanwhile.
      const configDescriptor = await this.store.withLock(async () => {
        const blob = await writeBlobBytes(this.store.root, JSON.stringify(config));
        const descriptor = { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: blob.digest, size: blob.size };
        const report = this.progress.transfer('Copying config', shortDigest(blob.digest), blob.size);
        report.finish((await uploadBlob(client, this.store.root, descriptor, report)) === 'exists' ? 'skipped: already exists' : 'done');
        return descriptor;
      });
      const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDescriptor, layers };
      await putManifest(client, tag, MediaType.ociManifest, Buffer.from(JSON.stringify(manifest)));
    } catch (error) {
      if (!(error instanceof DevboxError)) throw error;
      const failure = new DevboxError(`cannot write the build cache to ${name}: ${error.message}`, { fix: error.fix, kind: error.kind, cause: error });
      if (!to.ignoreError) throw failure;
      warn(failure.toLine());
    }
  }

  /** One layer up; one the store lacks (a step taken from a cache whose files this build never needed) comes from that cache first, unless the registry has it. */
  private async upload(client: RegistryClient, layer: Descriptor): Promise<void> {
    const report = this.progress.transfer('Copying blob', shortDigest(layer.digest), layer.size);
    if (!blobExists(this.store.root, layer.digest)) {
      const head = await client.request({ method: 'HEAD', path: `blobs/${layer.digest}`, ok: [200, 404] });
      head.body.resume();
      if (head.status === 200) {
        report.finish('skipped: already exists');
        return;
      }
      await this.fetchLayers([layer], this.progress);
    }
    const result = await uploadBlob(client, this.store.root, layer, report);
    report.finish(result === 'exists' ? 'skipped: already exists' : 'done');
  }
}
