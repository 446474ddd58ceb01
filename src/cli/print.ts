/** Output of the commands bin/devbox runs without oclif, as oclif's this.log and --json print it. */

/** Lines on stdout, each ended by a newline; returns status 0. */
export function printLines(lines: readonly string[]): number {
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** A --json result, indented as oclif prints one; returns status 0. */
export function printJson(value: unknown): number {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  return 0;
}
