/** `devbox diff`: the container's writable layer as Docker's A/C/D list (builder/layer-changes.ts). */
import type { Change } from '../builder/layer-changes.js';
import { runLayerWorker } from '../builder/layer-commit.js';
import { DevboxError } from '../util/errors.js';
import type { FilesContainer } from './target.js';

export async function containerChanges(container: FilesContainer): Promise<Change[]> {
  if (container.layer.kind === 'copy') {
    throw new DevboxError(`container ${container.ref} runs on the copy backend, whose private copy has no separate writable layer to list`, {
      fix: 'devbox export lists the whole file system',
    });
  }
  return runLayerWorker<Change[]>(container.mapping, {
    op: 'changes',
    dir: container.layer.dir,
    lowers: container.lowerDirs,
    mountPoints: container.mountPoints,
  });
}
