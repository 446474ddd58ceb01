/**
 * `devbox image save`: docker-archive (manifest.json + <config>.json + one tar per layer, what `podman load`
 * and `docker load` read) or oci-archive (an OCI image layout: oci-layout, index.json, blobs/sha256/).
 * Blobs are streamed from the store as they are, so digests stay valid; a file is written through a temp
 * file beside it and renamed when complete, a stream (stdout) directly.
 */
import { createWriteStream, promises as fs, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { commitTemp, tempBeside } from '../util/atomic-write.js';
import { describeError, DevboxError } from '../util/errors.js';
import { ociBlobPath } from './archive-manifest.js';
import { blobPath, digestHex, openBlob } from './blobs.js';
import { Annotation, MediaType, type Descriptor, type ImageIndex } from './oci.js';
import type { ImageStore, StoredImage } from './store.js';

export type ArchiveFormat = 'docker-archive' | 'oci-archive';

/** An image to save, with the names it is saved under. */
interface SaveItem {
  image: StoredImage;
  names: string[];
}

/** Fixed member times: saving the same images twice gives the same archive. */
const EPOCH = new Date(0);

function addBytes(pack: tar.Pack, name: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => pack.entry({ name, mode: 0o644, mtime: EPOCH }, Buffer.from(data), (e) => (e ? reject(e) : resolve())));
}

async function addBlob(pack: tar.Pack, store: ImageStore, name: string, digest: string): Promise<void> {
  const size = statSync(blobPath(store.root, digest)).size;
  await pipeline(openBlob(store.root, digest), pack.entry({ name, size, mode: 0o644, mtime: EPOCH }));
}

async function writeDockerArchive(pack: tar.Pack, store: ImageStore, items: SaveItem[]): Promise<void> {
  const manifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  const written = new Set<string>();
  const add = async (name: string, digest: string) => {
    if (!written.has(name)) await addBlob(pack, store, name, digest);
    written.add(name);
    return name;
  };
  for (const { image, names } of items) {
    const config = await add(`${digestHex(image.id)}.json`, image.id);
    const layers: string[] = [];
    for (const layer of image.manifest.layers) layers.push(await add(`${digestHex(layer.digest)}.tar`, layer.digest));
    manifest.push({ Config: config, RepoTags: names, Layers: layers });
  }
  await addBytes(pack, 'manifest.json', JSON.stringify(manifest));
}

async function writeOciArchive(pack: tar.Pack, store: ImageStore, items: SaveItem[]): Promise<void> {
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  const written = new Set<string>();
  const add = async (digest: string) => {
    if (!written.has(digest)) await addBlob(pack, store, ociBlobPath(digest), digest);
    written.add(digest);
  };
  await addBytes(pack, 'oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const { image, names } of items) {
    await add(image.id);
    for (const layer of image.manifest.layers) await add(layer.digest);
    await add(image.manifestDigest);
    const descriptor: Descriptor = {
      mediaType: image.manifest.mediaType ?? MediaType.ociManifest,
      digest: image.manifestDigest,
      size: statSync(blobPath(store.root, image.manifestDigest)).size,
    };
    if (!names.length) index.manifests.push(descriptor);
    for (const name of names) index.manifests.push({ ...descriptor, annotations: { [Annotation.refName]: name } });
  }
  await addBytes(pack, 'index.json', JSON.stringify(index));
}

/** Writes the images `refs` name to `out`: a path (via a temp file beside it) or a stream such as stdout. */
export async function saveArchive(store: ImageStore, refs: readonly string[], out: string | Writable, format: ArchiveFormat): Promise<void> {
  if (typeof out !== 'string' && (out as { isTTY?: boolean }).isTTY) {
    throw new DevboxError('refusing to write an image archive to a terminal', { fix: 'use -o FILE or redirect stdout' });
  }
  if (!refs.length) throw new DevboxError('no image to save', { fix: 'name one or more images' });
  const index = store.readIndex();
  const items: SaveItem[] = [];
  for (const ref of refs) {
    const image = await store.resolve(ref);
    // Saved under the name given, when a name was given; under all of its names when it was an id.
    const asked = store.find(ref, index)?.name;
    items.push({ image, names: asked ? [asked] : image.names });
  }
  const temp = typeof out === 'string' ? tempBeside(out) : undefined;
  const pack = tar.pack();
  try {
    const sink = temp ? createWriteStream(temp, { flags: 'wx' }) : (out as Writable);
    const done = pipeline(pack, sink);
    done.catch(() => {}); // awaited below; a failure while packing is reported from there
    if (format === 'docker-archive') await writeDockerArchive(pack, store, items);
    else await writeOciArchive(pack, store, items);
    pack.finalize();
    await done;
    if (temp) await commitTemp(temp, out as string, { durable: true });
  } catch (error) {
    pack.destroy();
    if (temp) await fs.rm(temp, { force: true });
    if (error instanceof DevboxError) throw error;
    throw new DevboxError(`cannot write ${typeof out === 'string' ? out : 'the archive'}: ${describeError(error)}`, { cause: error });
  }
}
