/**
 * Node.js built-in modules loaded at their first use rather than when a module importing them loads:
 * node:crypto took ~14 ms to load and node:child_process (with net and dgram) ~7 ms of `devbox ps`'s ~110 ms on
 * the test machine (2026-12-07, --cpu-prof), more than its own work, although a listing never writes a file
 * or runs a program. Modules on the paths of the commands bin/devbox runs without oclif use these for the two.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export function crypto(): typeof import('node:crypto') {
  return load('node:crypto');
}

export function childProcess(): typeof import('node:child_process') {
  return load('node:child_process');
}
