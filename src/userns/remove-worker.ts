/** Runs as root of the user namespace: `node remove-worker.js PATH...` deletes each tree. */
import { rm } from 'node:fs/promises';

for (const path of process.argv.slice(2)) {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (error) {
    process.stderr.write(`cannot remove ${path}: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
