/**
 * `devbox push NAME[:TAG] [DEST]`: the image's blobs (layers and config, as stored: their digests are the
 * manifest's) go up three at a time, then the manifest, byte for byte as stored, under the tag. Blobs are
 * mounted from another repository of the same registry when the image has a name there.
 */
import { promises as fs } from 'node:fs';
import { blobPath, shortDigest } from '../image/blobs.js';
import { MediaType, type Descriptor } from '../image/oci.js';
import { DEFAULT_TAG, normalizedName, parseReference, type ImageReference } from '../image/reference.js';
import type { ImageStore, StoredImage } from '../image/store.js';
import { readSettings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';
import { RegistryClient } from './client.js';
import { registryEndpoint } from './endpoints.js';
import { progressFor, type Progress, type ProgressMode } from '../util/progress.js';
import { putManifest, uploadBlob } from './upload.js';

export interface PushOptions {
  /** Where to report: the caller's progress, or the mode of one of its own (default `auto`). */
  progress?: Progress | ProgressMode;
}

export interface PushResult {
  /** The destination, fully qualified. */
  name: string;
  tag: string;
  digest: string;
  size: number;
}

const PARALLEL_UPLOADS = 3;

/** Whether `source` names the image by one of its names (not by id). */
function isName(image: StoredImage, source: string): boolean {
  try {
    return image.names.includes(normalizedName(parseReference(source)));
  } catch {
    return false; // an image id
  }
}

function destination(image: StoredImage, source: string, dest: string | undefined): ImageReference {
  const text = dest?.replace(/^docker:\/\//, '') ?? (isName(image, source) ? source : undefined);
  if (!text) throw new DevboxError(`"${source}" names no repository to push to`, { fix: 'give a destination: devbox push IMAGE REGISTRY/NAME[:TAG]' });
  const ref = parseReference(text);
  if (ref.digest) throw new DevboxError(`cannot push to a digest ("${text}"): the registry computes it`, { fix: 'push to NAME[:TAG]' });
  return ref;
}

/** A repository on the same registry that the image was pulled from or pushed to, for cross-repository mounts. */
function mountSource(image: StoredImage, ref: ImageReference): string | undefined {
  const prefix = `${ref.domain}/`;
  return image.names
    .filter((n) => n.startsWith(prefix))
    .map((n) => n.slice(prefix.length, n.lastIndexOf(':')))
    .find((path) => path !== ref.path);
}

async function uploadAll(client: RegistryClient, root: string, blobs: Descriptor[], progress: Progress, mountFrom: string | undefined): Promise<void> {
  const queue = [...new Map(blobs.map((b) => [b.digest, b])).values()];
  const worker = async () => {
    for (let blob = queue.shift(); blob; blob = queue.shift()) {
      const report = progress.transfer('Copying blob', shortDigest(blob.digest), blob.size);
      const result = await uploadBlob(client, root, blob, report, mountFrom);
      report.finish(result === 'exists' ? 'skipped: already exists' : result === 'mounted' ? `mounted from ${mountFrom}` : 'done');
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_UPLOADS }, worker));
}

export async function pushImage(store: ImageStore, source: string, dest: string | undefined, options: PushOptions = {}): Promise<PushResult> {
  const image = await store.resolve(source);
  const ref = destination(image, source, dest);
  const name = normalizedName(ref);
  const tag = ref.tag ?? DEFAULT_TAG;
  const mountFrom = mountSource(image, ref);
  const client = RegistryClient.forRepository(registryEndpoint(ref, readSettings()), ['pull', 'push'], mountFrom ? [mountFrom] : []);
  const { progress, own } = progressFor(options.progress);
  try {
    progress.note(`Pushing ${name}`);
    await uploadAll(client, store.root, [...image.manifest.layers, image.manifest.config], progress, mountFrom);
    progress.note('Writing manifest to image destination');
    const bytes = await fs.readFile(blobPath(store.root, image.manifestDigest));
    const mediaType = image.manifest.mediaType ?? MediaType.ociManifest;
    const digest = await putManifest(client, tag, mediaType, bytes);
    if (digest !== undefined && digest !== image.manifestDigest) {
      throw new DevboxError(`the registry stored the manifest as ${digest}, not ${image.manifestDigest}`, { fix: 'the registry rewrote the manifest' });
    }
    return { name, tag, digest: image.manifestDigest, size: bytes.length };
  } catch (error) {
    if (!(error instanceof DevboxError)) throw error;
    throw new DevboxError(`cannot push ${name}: ${error.message}`, { fix: error.fix, kind: error.kind, cause: error });
  } finally {
    if (own) progress.stop();
  }
}
