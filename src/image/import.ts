/** `devbox image import ROOTFS.tar NAME[:TAG]`: a root file system tar (plain or gzip) becomes a one-layer image, as `docker import` does. */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { resolveIdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import { writeBlob } from './blobs.js';
import { collectGarbage } from './gc.js';
import { detectCompression } from './layer-stream.js';
import { commitImage } from './manifest-writer.js';
import { hostArchitecture, MediaType, type ImageConfig } from './oci.js';
import { normalizedName, parseReference } from './reference.js';
import type { ImageStore, StoredImage } from './store.js';
import { unpackLayer } from './unpack.js';

function readHead(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new DevboxError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`, { fix: 'give the path of a root file system tar' });
  }
  try {
    const head = Buffer.alloc(512);
    return head.subarray(0, readSync(fd, head, 0, 512, 0));
  } finally {
    closeSync(fd);
  }
}

export async function importRootfs(store: ImageStore, tarPath: string, name: string): Promise<StoredImage> {
  const target = normalizedName(parseReference(name));
  const compression = detectCompression(readHead(tarPath));
  if (compression === 'zstd') throw new DevboxError(`${tarPath}: zstd-compressed tars are not supported yet`, { fix: 'use a plain or gzip tar' });
  const { mapping } = resolveIdMapping();
  await store.withLock(async () => {
    const blob = await writeBlob(store.root, createReadStream(tarPath));
    let diffID: string;
    try {
      diffID = await unpackLayer(store.root, mapping, blob.digest);
    } catch (error) {
      await collectGarbage(store, mapping); // the blob of a tar that did not unpack is referenced by nothing
      throw new DevboxError(`${tarPath}: ${(error as Error).message.replace(/^layer [0-9a-f]+: /, '')}`, { fix: 'is it a root file system tar?', cause: error });
    }
    const created = new Date().toISOString();
    const config: ImageConfig = {
      created,
      architecture: hostArchitecture(),
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [diffID] },
      history: [{ created, created_by: 'devbox image import', comment: 'imported from a root file system tar' }],
    };
    const mediaType = compression === 'gzip' ? MediaType.ociLayerGzip : MediaType.ociLayer;
    await commitImage(store, config, [{ mediaType, digest: blob.digest, size: blob.size }], [target]);
  });
  return store.resolve(target);
}
