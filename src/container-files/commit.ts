/**
 * `devbox commit`: the container's writable layer becomes a layer on top of its image. The layer tar is
 * written by the builder's layer worker (builder/layer-tar.ts: overlay whiteouts and opaque directories in
 * OCI form, mount stubs left out), the `-c` changes applied with the builder's config edits, and a history
 * entry records the container's command, the author and the message, as Docker's commit does.
 */
import { randomHex } from '../util/random.js';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { applyConfigChanges } from '../builder/config-changes.js';
import type { LayerTarResult } from '../builder/layer-tar.js';
import { runLayerWorker } from '../builder/layer-commit.js';
import { adoptSpooled } from '../image/blobs.js';
import { tempDir } from '../image/durable.js';
import { commitImage } from '../image/manifest-writer.js';
import { MediaType, type Descriptor } from '../image/oci.js';
import { nameForTagging } from '../image/reference.js';
import { unpackLayer } from '../image/unpack.js';
import { DevboxError } from '../util/errors.js';
import type { FilesContainer } from './target.js';

export interface CommitOptions {
  /** REPOSITORY[:TAG]; none leaves the image without a name, as Docker's. */
  name?: string;
  message?: string;
  author?: string;
  /** Dockerfile instructions that change the configuration (-c). */
  changes: string[];
}

export async function commitContainer(container: FilesContainer, options: CommitOptions): Promise<string> {
  if (container.layer.kind === 'copy') {
    throw new DevboxError(`container ${container.ref} runs on the copy backend, whose private copy has no separate writable layer to commit`, {
      fix: 'devbox export it and devbox import the tar',
    });
  }
  const names = options.name ? [nameForTagging(options.name, 'commit as')] : [];
  const config = applyConfigChanges(container.image.config, options.changes);
  const { store, mapping } = container;
  mkdirSync(tempDir(store.root), { recursive: true });
  const out = join(tempDir(store.root), `commit-${randomHex(6)}.tar`);
  try {
    const tar = await runLayerWorker<LayerTarResult>(mapping, {
      op: 'diff',
      dir: container.layer.dir,
      out,
      owner: { uid: mapping.uid, gid: mapping.gid },
      lowers: container.lowerDirs,
      mountPoints: container.mountPoints,
    });
    const created = new Date().toISOString();
    return await store.withLock(async () => {
      const layers: Descriptor[] = [...container.image.manifest.layers];
      const diffIDs = [...(config.rootfs?.diff_ids ?? [])];
      if (tar.entries > 0) {
        const blob = await adoptSpooled(store.root, { path: out, digest: tar.digest, size: tar.size }, { digest: tar.digest, size: tar.size }, 'layer');
        await unpackLayer(store.root, mapping, blob.digest, blob.digest);
        layers.push({ mediaType: MediaType.ociLayer, digest: blob.digest, size: blob.size });
        diffIDs.push(blob.digest);
      }
      const history = {
        created,
        created_by: container.container.config.process.args.join(' '),
        ...(options.author ? { author: options.author } : {}),
        ...(options.message ? { comment: options.message } : {}),
        ...(tar.entries > 0 ? {} : { empty_layer: true }),
      };
      return commitImage(
        store,
        {
          ...config,
          created,
          ...(options.author ? { author: options.author } : {}),
          rootfs: { type: 'layers', diff_ids: diffIDs },
          history: [...(config.history ?? []), history],
        },
        layers,
        names,
      );
    });
  } finally {
    rmSync(out, { force: true });
  }
}
