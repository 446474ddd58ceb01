/**
 * `devbox image save`: docker-archive (manifest.json + config + one tar per layer, what `podman load` and
 * `docker load` read) or oci-archive (an OCI image layout). Blobs are streamed from the store as they are;
 * the archive is written to a temp file and renamed, or streamed to stdout.
 */
import { createWriteStream, promises as fs, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { DevboxError } from '../util/errors.js';
import { blobPath, digestHex, openBlob } from './blobs.js';
import { MediaType, type ImageIndex } from './oci.js';
import { familiarName } from './reference.js';
import type { ImageStore, StoredImage } from './store.js';

export type ArchiveFormat = 'docker-archive' | 'oci-archive';

async function addBytes(pack: tar.Pack, name: string, data: Buffer | string): Promise<void> {
  await new Promise<void>((resolve, reject) => pack.entry({ name, mode: 0o644, mtime: new Date(0) }, Buffer.from(data), (e) => (e ? reject(e) : resolve())));
}

async function addBlob(pack: tar.Pack, store: ImageStore, name: string, digest: string): Promise<void> {
  const size = statSync(blobPath(store.root, digest)).size;
  const entry = pack.entry({ name, size, mode: 0o644, mtime: new Date(0) });
  await pipeline(openBlob(store.root, digest), entry);
}

async function writeDockerArchive(pack: tar.Pack, store: ImageStore, images: StoredImage[], refs: readonly string[]): Promise<void> {
  const manifest = [];
  const written = new Set<string>();
  for (const [i, image] of images.entries()) {
    const configName = `${digestHex(image.id)}.json`;
    if (!written.has(configName)) await addBlob(pack, store, configName, image.id);
    written.add(configName);
    const layers: string[] = [];
    for (const layer of image.manifest.layers) {
      const name = `${digestHex(layer.digest)}.tar`;
      if (!written.has(name)) await addBlob(pack, store, name, layer.digest);
      written.add(name);
      layers.push(name);
    }
    // The names given on the command line if they are names, else all of the image's.
    const asked = image.names.find((n) => familiarName(n) === refs[i] || n === refs[i]);
    manifest.push({ Config: configName, RepoTags: asked ? [asked] : image.names, Layers: layers });
  }
  await addBytes(pack, 'manifest.json', JSON.stringify(manifest));
}

async function writeOciArchive(pack: tar.Pack, store: ImageStore, images: StoredImage[]): Promise<void> {
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  const written = new Set<string>();
  const add = async (digest: string) => {
    if (written.has(digest)) return;
    written.add(digest);
    await addBlob(pack, store, `blobs/sha256/${digestHex(digest)}`, digest);
  };
  await addBytes(pack, 'oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const image of images) {
    await add(image.id);
    for (const layer of image.manifest.layers) await add(layer.digest);
    await add(image.manifestDigest);
    const size = statSync(blobPath(store.root, image.manifestDigest)).size;
    const mediaType = image.manifest.mediaType ?? MediaType.ociManifest;
    const names = image.names.length ? image.names : [undefined];
    for (const name of names) {
      index.manifests.push({ mediaType, digest: image.manifestDigest, size, ...(name ? { annotations: { 'org.opencontainers.image.ref.name': name } } : {}) });
    }
  }
  await addBytes(pack, 'index.json', JSON.stringify(index));
}

/** Writes the archive to `output` (a path), or to stdout when output is undefined. */
export async function saveArchive(store: ImageStore, refs: readonly string[], format: ArchiveFormat, output?: string): Promise<void> {
  if (!output && process.stdout.isTTY) throw new DevboxError('refusing to write an archive to a terminal', { fix: 'use -o FILE or redirect stdout' });
  const images = await Promise.all(refs.map((r) => store.resolve(r)));
  const pack = tar.pack();
  const temp = output ? join(dirname(output), `.${Date.now()}-${process.pid}.devbox-save.tmp`) : undefined;
  const sink: Writable = temp ? createWriteStream(temp, { flags: 'wx' }) : process.stdout;
  const done = pipeline(pack, sink);
  try {
    if (format === 'docker-archive') await writeDockerArchive(pack, store, images, refs);
    else await writeOciArchive(pack, store, images);
    pack.finalize();
    await done;
    if (temp && output) await fs.rename(temp, output);
  } catch (error) {
    pack.destroy();
    if (temp) await fs.rm(temp, { force: true });
    throw error instanceof DevboxError ? error : new DevboxError(`cannot write ${output ?? 'the archive'}: ${(error as Error).message}`, { cause: error });
  }
}
