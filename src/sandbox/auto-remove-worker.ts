/**
 * `node auto-remove-worker.js JSON`: the exit command of a `--rm` container (podman's `container cleanup
 * --rm`) whose starter no longer waits for it (detached). Its supervisor runs it once it has removed the
 * container's directory; JSON (AutoRemoval) carries what the record said, which is gone by then.
 */
import { type AutoRemoval, finishAutoRemoval } from './container-removal.js';

const problem = await finishAutoRemoval(JSON.parse(process.argv[2]) as AutoRemoval);
if (problem) {
  process.stderr.write(`devbox: ${problem}\n`);
  process.exitCode = 1;
}
