/**
 * Which images containers and project sandboxes use. The run code writes containers/<id>/state.json with the
 * image id and the pid of the devbox process waiting for the sandbox, and adds exitCode once it has ended; a
 * project's sandboxes/<key>/state.json has the image id and the pid of the sandbox's pid 1 while it is up.
 * Read here rather than through sandbox/, which sits above image/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../util/processes.js';

interface ContainerStateFile {
  image?: string;
  pid?: number;
  exitCode?: number;
}

/** Image ids (config digests) of running containers and live project sandboxes. */
export function imagesInUse(root: string): Set<string> {
  return containerImages(root, true);
}

/**
 * Image ids of every container and project sandbox kept in the store (`docker image prune -a` keeps these),
 * or only of the running ones.
 */
export function containerImages(root: string, runningOnly = false): Set<string> {
  const inUse = new Set<string>();
  for (const kind of ['containers', 'sandboxes']) {
    let ids: string[];
    try {
      ids = readdirSync(join(root, kind));
    } catch {
      continue;
    }
    for (const id of ids) {
      let state: ContainerStateFile;
      try {
        state = JSON.parse(readFileSync(join(root, kind, id, 'state.json'), 'utf8')) as ContainerStateFile;
      } catch {
        continue; // being created, or damaged: it names no image
      }
      const running = state.exitCode === undefined && typeof state.pid === 'number' && state.pid > 0 && isAlive(state.pid);
      if (state.image && (running || !runningOnly)) inUse.add(state.image);
    }
  }
  return inUse;
}
