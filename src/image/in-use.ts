/**
 * Which images live containers use. The run code writes containers/<id>/state.json with the image id and
 * the pid of the devbox process waiting for the sandbox, and adds exitCode once it has ended. Read here
 * rather than through sandbox/, which sits above image/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ContainerStateFile {
  image?: string;
  pid?: number;
  exitCode?: number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, but not ours to signal
  }
}

/** Image ids (config digests) of containers whose devbox process is still running. */
export function imagesInUse(root: string): Set<string> {
  return containerImages(root, true);
}

/** Image ids of every container kept in the store (`docker image prune -a` keeps these), or only running ones. */
export function containerImages(root: string, runningOnly = false): Set<string> {
  const inUse = new Set<string>();
  let ids: string[];
  try {
    ids = readdirSync(join(root, 'containers'));
  } catch {
    return inUse;
  }
  for (const id of ids) {
    let state: ContainerStateFile;
    try {
      state = JSON.parse(readFileSync(join(root, 'containers', id, 'state.json'), 'utf8')) as ContainerStateFile;
    } catch {
      continue; // being created, or damaged: it names no image
    }
    const running = state.exitCode === undefined && typeof state.pid === 'number' && state.pid > 0 && isAlive(state.pid);
    if (state.image && (running || !runningOnly)) inUse.add(state.image);
  }
  return inUse;
}
