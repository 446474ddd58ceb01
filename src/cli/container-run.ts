/**
 * `devbox run` outside a project (and `devbox container run`): docker run's options parsed, the container
 * created and started. run-main.ts imports this one module once it knows it is not in a project, so the
 * bundled hot path (scripts/bundle-hot.mjs) loads it as one file.
 */
import { runImage } from '../sandbox/run-image.js';
import { parseRunArgs } from './run-options.js';

export function containerRun(argv: readonly string[]): Promise<number> {
  return runImage(parseRunArgs(argv));
}
