/**
 * `node auto-remove-worker.js JSON`: the exit command of a detached `--rm` container (podman's `container
 * cleanup --rm`). Its supervisor runs it once it has removed the container's directory; JSON (AutoRemoval)
 * carries what the record said, which is gone by then.
 */
import { forgetRemovedContainer, type RemovedContainer } from './container-removal.js';

export interface AutoRemoval {
  storeRoot: string;
  container: RemovedContainer;
}

const removal = JSON.parse(process.argv[2]) as AutoRemoval;
try {
  await forgetRemovedContainer(removal.storeRoot, removal.container, true);
} catch (error) {
  process.stderr.write(`devbox: after removing container ${removal.container.name}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
