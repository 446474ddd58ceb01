/**
 * Which images containers and project sandboxes use. A container's config.json names its image and its
 * state.json its supervisor while it runs (src/container/records.ts); a project's sandboxes/<key>/state.json
 * has the image id and the pid of the sandbox's pid 1 while it is up. Read here rather than through
 * container/ and sandbox/, which sit above image/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, startTimeOf } from '../util/processes.js';

interface RecordFiles {
  image?: string;
  running: boolean;
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined; // being created, or damaged: it names no image
  }
}

function containerRecord(dir: string): RecordFiles | undefined {
  const config = readJson(join(dir, 'config.json'));
  if (!config) return undefined;
  const state = readJson(join(dir, 'state.json')) ?? {};
  const supervised = state.status === 'running' || state.status === 'restarting';
  const running = supervised && typeof state.supervisorPid === 'number' && startTimeOf(state.supervisorPid) === state.supervisorStart;
  return { image: config.image as string | undefined, running };
}

function sandboxRecord(dir: string): RecordFiles | undefined {
  const state = readJson(join(dir, 'state.json'));
  if (!state) return undefined;
  return { image: state.image as string | undefined, running: typeof state.pid === 'number' && state.pid > 0 && isAlive(state.pid) };
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
  for (const [kind, read] of [
    ['containers', containerRecord],
    ['sandboxes', sandboxRecord],
  ] as const) {
    let ids: string[];
    try {
      ids = readdirSync(join(root, kind));
    } catch {
      continue;
    }
    for (const id of ids) {
      const record = read(join(root, kind, id));
      if (record?.image && (record.running || !runningOnly)) inUse.add(record.image);
    }
  }
  return inUse;
}
