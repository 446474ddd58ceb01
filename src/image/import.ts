/**
 * `devbox image import ROOTFS.tar NAME[:TAG]`: a root file system tar (plain or gzip) becomes a one-layer
 * image, as `docker import` does: the tar is stored as the layer blob as it is, its config gets the host's
 * os/architecture, the layer's diffID and one history entry, and no command (give one to `devbox run`).
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { resolveIdMapping } from '../userns/idmap.js';
import { describeError, DevboxError } from '../util/errors.js';
import { writeBlob } from './blobs.js';
import { collectGarbage } from './gc.js';
import { checkSupportedCompression, detectCompression, layerMediaType } from './layer-stream.js';
import { commitImage } from './manifest-writer.js';
import { hostArchitecture, type ImageConfig } from './oci.js';
import { nameForTagging } from './reference.js';
import type { ImageStore, StoredImage } from './store.js';

export interface ImportOptions {
  /** Comment for the image's history entry (docker import --message). */
  message?: string;
}
import { unpackLayer } from './unpack.js';

function readHead(path: string): Buffer {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(512);
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } catch (error) {
    throw new DevboxError(`cannot read ${path}: ${describeError(error)}`, { fix: 'give the path of a root file system tar' });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export async function importRootfs(store: ImageStore, tarPath: string, name: string, opts: ImportOptions = {}): Promise<StoredImage> {
  const target = nameForTagging(name, 'import as');
  const head = readHead(tarPath);
  if (!head.length) throw new DevboxError(`${tarPath} is empty, not a tar archive`, { fix: 'give the path of a root file system tar' });
  const compression = detectCompression(head);
  checkSupportedCompression(compression, tarPath);
  const { mapping } = resolveIdMapping();
  await store.withLock(async () => {
    const blob = await writeBlob(store.root, createReadStream(tarPath));
    let diffID: string;
    try {
      diffID = await unpackLayer(store.root, mapping, blob.digest);
    } catch (error) {
      await collectGarbage(store, mapping); // the blob of a tar that did not unpack is referenced by nothing
      const reason = (error as Error).message.replace(/^layer sha256:[0-9a-f]+…: /, '');
      throw new DevboxError(`${tarPath}: ${reason}`, { cause: error });
    }
    const created = new Date().toISOString();
    const config: ImageConfig = {
      created,
      architecture: hostArchitecture(),
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [diffID] },
      history: [{ created, created_by: 'devbox image import', comment: opts.message ?? 'imported from a root file system tar' }],
    };
    await commitImage(store, config, [{ mediaType: layerMediaType(compression), digest: blob.digest, size: blob.size }], [target]);
  });
  return store.resolve(target);
}
