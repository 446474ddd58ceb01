/**
 * Warnings and notes for the user, from any layer: one line each on stderr, prefixed the way every devbox
 * message is. Errors go up as DevboxError to the entry point instead (cli/report.ts).
 */

export function warn(message: string): void {
  process.stderr.write(`devbox: warning: ${message}\n`);
}

/** Something the user may want to know that is not a problem (a fallback taken, a step skipped). */
export function note(message: string): void {
  process.stderr.write(`devbox: note: ${message}\n`);
}
