/** Output of the commands bin/devbox runs without oclif, as oclif's this.log and --json print it. */
import { writeStdout } from '../util/stdio.js';

/** Lines on stdout, each ended by a newline; returns status 0. */
export function printLines(lines: readonly string[]): number {
  if (lines.length) writeStdout(`${lines.join('\n')}\n`);
  return 0;
}

/** A --json result, indented as oclif prints one; returns status 0. */
export function printJson(value: unknown): number {
  writeStdout(`${JSON.stringify(value, null, 2)}\n`);
  return 0;
}
