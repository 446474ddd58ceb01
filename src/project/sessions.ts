/**
 * Sessions in a project's sandbox, for devcontainer.json's `"shutdownAction": "stopContainer"`: the sandbox
 * stops when the last `devbox shell` or `devbox run` in it ends, as Dev Containers stops the container when
 * the last window on it closes. Each session is a file sessions/<pid> holding its start time, so a session
 * killed without cleaning up (its pid gone or reused) does not count.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTimeOf } from '../util/processes.js';

function sessionsDir(dir: string): string {
  return join(dir, 'sessions');
}

/** Records this process as a session; returns the function that ends it and says whether it was the last. */
export function beginSession(dir: string): () => boolean {
  const folder = sessionsDir(dir);
  mkdirSync(folder, { recursive: true });
  const own = join(folder, String(process.pid));
  writeFileSync(own, startTimeOf(process.pid) ?? '');
  return () => {
    rmSync(own, { force: true });
    return !readdirSync(folder).some((name) => {
      try {
        return startTimeOf(Number(name)) === readFileSync(join(folder, name), 'utf8');
      } catch {
        return false; // ended meanwhile
      }
    });
  };
}
