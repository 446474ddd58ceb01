/**
 * The form of a build cache in a registry: BuildKit's registry cache in its image-manifest form (BuildKit's
 * `--cache-to type=registry,image-manifest=true`), an OCI image manifest whose config is a cache config
 * (`application/vnd.buildkit.cacheconfig.v0`) and whose layers are the cached layers, so that registries store,
 * list and garbage-collect it as an image. The cache config has BuildKit's two tables: `layers` (each a blob
 * and the index of the layer below it: chains) and `records` (a cache key, the chain its result ends with, the
 * record of the step before it). The keys are devbox's step keys (cache.ts), not BuildKit's, so the two tools
 * do not share entries; each record also carries the image config after its step (`config`), which devbox
 * needs and BuildKit keeps elsewhere. Pure data (and the refs naming caches): reading and writing a registry
 * is registry-cache.ts's.
 */
import type { BuildCacheEntry } from '../image/build-cache-store.js';
import { MediaType, type Descriptor, type ImageConfig } from '../image/oci.js';
import { DEFAULT_TAG, normalizedName, parseReference, type ImageReference } from '../image/reference.js';
import { describeError, DevboxError } from '../util/errors.js';

export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.buildkit.cacheconfig.v0';
export interface CacheTo {
  ref: string;
  mode: 'min' | 'max';
  /** BuildKit's ignore-error=true: a cache that cannot be written is a warning, not a failed build. */
  ignoreError?: boolean;
}

/**
 * A cache ref, REGISTRY/REPOSITORY[:TAG|@DIGEST] (no tag is `latest`, as for images): its name for messages,
 * what the manifest is fetched or put as, and the reference. `write`: a digest is refused (the registry makes it).
 */
export function cacheReference(ref: string, write = false): { name: string; reference: string; parsed: ImageReference } {
  let parsed: ImageReference;
  try {
    parsed = parseReference(ref);
  } catch (error) {
    throw new DevboxError(`build cache ref "${ref}": ${describeError(error)}`, { fix: 'give REGISTRY/REPOSITORY:TAG', kind: 'usage' });
  }
  if (write && parsed.digest)
    throw new DevboxError(`cannot write a build cache to a digest ("${ref}")`, { fix: 'give REGISTRY/REPOSITORY:TAG', kind: 'usage' });
  return { name: normalizedName(parsed), reference: parsed.digest ?? parsed.tag ?? DEFAULT_TAG, parsed };
}

/** The annotation BuildKit gives a cache layer for its uncompressed digest (its diffID). */
const UNCOMPRESSED_ANNOTATION = 'containerd.io/uncompressed';

interface CacheLayer {
  blob: string;
  /** The layer below it in the chain, -1 for a first layer. */
  parent: number;
  annotations?: { mediaType?: string; diffID?: string; size?: number };
}

interface CacheRecord {
  /** `sha256:` and the step key. */
  digest: string;
  /** The top layer of the step's result (none for a result without layers). */
  layers?: { layer: number }[];
  /** The record of the step before it. */
  inputs?: { selector?: string; link: number }[][];
  /** The image config after the step (devbox's addition). */
  config?: ImageConfig;
}

export interface CacheConfig {
  layers: CacheLayer[];
  records: CacheRecord[];
}

/** One step of a build to record: its key, the key of the step before it (none for a stage's first), its result. */
export interface CacheRecordInput {
  key: string;
  parent?: string;
  entry: BuildCacheEntry;
}

/** The cache config of `records` (each distinct layer chain once) and the manifest's layers (each blob once). */
export function encodeCacheConfig(records: readonly CacheRecordInput[]): { config: CacheConfig; layers: Descriptor[] } {
  const layers: CacheLayer[] = [];
  const descriptors = new Map<string, Descriptor>();
  const chains = new Map<string, number>();
  const topOfChain = (entry: BuildCacheEntry): number => {
    let parent = -1;
    let chain = '';
    entry.layers.forEach((layer, i) => {
      chain += `${layer.digest}/`;
      let index = chains.get(chain);
      if (index === undefined) {
        index = layers.length;
        const diffID = entry.config.rootfs.diff_ids[i];
        layers.push({ blob: layer.digest, parent, annotations: { mediaType: layer.mediaType, diffID, size: layer.size } });
        chains.set(chain, index);
        if (!descriptors.has(layer.digest))
          descriptors.set(layer.digest, {
            mediaType: layer.mediaType,
            digest: layer.digest,
            size: layer.size,
            annotations: { [UNCOMPRESSED_ANNOTATION]: diffID },
          });
      }
      parent = index;
    });
    return parent;
  };
  const position = new Map<string, number>();
  const out: CacheRecord[] = [];
  for (const record of records) {
    if (position.has(record.key)) continue;
    const top = topOfChain(record.entry);
    const parent = record.parent === undefined ? undefined : position.get(record.parent);
    position.set(record.key, out.length);
    out.push({
      digest: `sha256:${record.key}`,
      ...(top >= 0 ? { layers: [{ layer: top }] } : {}),
      ...(parent !== undefined ? { inputs: [[{ selector: '', link: parent }]] } : {}),
      config: record.entry.config,
    });
  }
  return { config: { layers, records: out }, layers: [...descriptors.values()] };
}

const KEY_DIGEST = /^sha256:([a-f0-9]{64})$/;
const BLOB_DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * The entries of a cache config, by step key. What does not hold together (a chain that loops or names a
 * layer that is not there, a config whose diff_ids do not match its chain) is left out: a cache is an
 * optimisation, and a damaged record only means that step runs.
 */
export function decodeCacheConfig(config: CacheConfig): Map<string, BuildCacheEntry> {
  const entries = new Map<string, BuildCacheEntry>();
  const table = Array.isArray(config?.layers) ? config.layers : [];
  const chain = (index: number): Descriptor[] | undefined => {
    const out: Descriptor[] = [];
    for (let i = index, steps = 0; i !== -1; steps++) {
      const layer = table[i];
      if (!layer || steps > table.length || typeof layer.blob !== 'string' || !BLOB_DIGEST.test(layer.blob)) return undefined;
      const size = layer.annotations?.size;
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
      out.unshift({ mediaType: layer.annotations?.mediaType ?? MediaType.ociLayerGzip, digest: layer.blob, size });
      i = typeof layer.parent === 'number' ? layer.parent : -1;
    }
    return out;
  };
  for (const record of Array.isArray(config?.records) ? config.records : []) {
    const key = KEY_DIGEST.exec(record?.digest ?? '')?.[1];
    const top = record?.layers?.[0]?.layer;
    const layers = top === undefined ? [] : typeof top === 'number' ? chain(top) : undefined;
    const diffIDs = record?.config?.rootfs?.diff_ids;
    if (!key || !layers || !Array.isArray(diffIDs) || diffIDs.length !== layers.length) continue;
    entries.set(key, { config: record.config!, layers });
  }
  return entries;
}
