/**
 * Node.js built-in modules loaded at their first use rather than when a module importing them loads:
 * node:crypto took ~14 ms to load and node:child_process (with net and dgram) ~7 ms of `devbox ps`'s ~110 ms on
 * the test machine (2026-12-07, --cpu-prof), more than its own work, although a listing never writes a file
 * or runs a program. Modules on the paths of the commands bin/devbox runs without oclif use these for them.
 */
import { createRequire } from 'node:module';

/** Made at first use too: createRequire itself took ~3 ms of `devbox ps` (2026-12-07). */
let load: NodeJS.Require | undefined;

function builtin<T>(name: string): T {
  load ??= createRequire(import.meta.url);
  return load(name);
}

export function crypto(): typeof import('node:crypto') {
  return builtin('node:crypto');
}

export function childProcess(): typeof import('node:child_process') {
  return builtin('node:child_process');
}

/** node:net loads node:stream with it. */
export function net(): typeof import('node:net') {
  return builtin('node:net');
}
