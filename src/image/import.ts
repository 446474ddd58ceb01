/**
 * `devbox import FILE|- [NAME[:TAG]]` (and `devbox image import`): a root file system tar (plain, gzip or
 * zstd), from a file or stdin, becomes a one-layer image, as `docker import` does: the tar is stored as the
 * layer blob as it is, its config gets the host's os/architecture, the layer's diffID and one history entry,
 * and no command unless a --change gives one. Without NAME the image has no name, as Docker's.
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

import { blobPath } from './blobs.js';
import type { Readable } from 'node:stream';
import { unpackLayer } from './unpack.js';

export interface ImportOptions {
  /** Comment for the image's history entry (docker import --message). */
  message?: string;
  /** Applies the --change instructions to the new image's config (the builder's edits, given by the caller). */
  edit?: (config: ImageConfig) => ImageConfig;
}

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

/** `source`: a file path, or a stream (stdin for `-`) named `sourceName` in messages. */
export async function importRootfs(
  store: ImageStore,
  source: string | { stream: Readable; name: string },
  name: string | undefined,
  opts: ImportOptions = {},
): Promise<StoredImage> {
  const target = name === undefined ? undefined : nameForTagging(name, 'import as');
  const label = typeof source === 'string' ? source : source.name;
  if (typeof source === 'string') readHead(source); // an unreadable file is one line before anything is stored
  const { mapping } = resolveIdMapping();
  const id = await store.withLock(async () => {
    const blob = await writeBlob(store.root, typeof source === 'string' ? createReadStream(source) : source.stream);
    const head = readHead(blobPath(store.root, blob.digest));
    const fail = async (error: DevboxError) => {
      await collectGarbage(store, mapping); // a blob of what did not import is referenced by nothing
      return error;
    };
    if (!head.length) throw await fail(new DevboxError(`${label} is empty, not a tar archive`, { fix: 'give a root file system tar' }));
    const compression = detectCompression(head);
    try {
      checkSupportedCompression(compression, label);
    } catch (error) {
      throw await fail(error as DevboxError);
    }
    let diffID: string;
    try {
      diffID = await unpackLayer(store.root, mapping, blob.digest);
    } catch (error) {
      const reason = (error as Error).message.replace(/^layer sha256:[0-9a-f]+…: /, '');
      throw await fail(new DevboxError(`${label}: ${reason}`, { cause: error }));
    }
    const created = new Date().toISOString();
    const base: ImageConfig = {
      created,
      architecture: hostArchitecture(),
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [diffID] },
      history: [{ created, created_by: 'devbox import', comment: opts.message ?? 'imported from a root file system tar' }],
    };
    const config = opts.edit ? opts.edit(base) : base;
    return commitImage(store, config, [{ mediaType: layerMediaType(compression), digest: blob.digest, size: blob.size }], target ? [target] : []);
  });
  return store.resolve(target ?? id);
}
