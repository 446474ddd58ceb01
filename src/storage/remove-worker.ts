/**
 * Runs as root of the user namespace: `node remove-worker.js PATH...` deletes each tree (symlinks are
 * removed, not followed). Tries every path; each failure is a line on stderr and makes the status 1.
 */
import { rm } from 'node:fs/promises';
import { isAbsolute } from 'node:path';

for (const path of process.argv.slice(2)) {
  if (!isAbsolute(path) || path === '/') {
    process.stderr.write(`refusing to remove "${path}"\n`);
    process.exitCode = 1;
    continue;
  }
  try {
    await rm(path, { recursive: true, force: true, maxRetries: 2 });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    process.stderr.write(`cannot remove ${path}: ${e.code ?? e.message}${e.path && e.path !== path ? ` (${e.path})` : ''}\n`);
    process.exitCode = 1;
  }
}
