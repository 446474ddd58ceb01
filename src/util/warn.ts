/**
 * Warnings and notes for the user, from any layer: one line each on stderr, prefixed the way every devbox
 * message is. Errors go up as DevboxError to the entry point instead (cli/report.ts).
 */
import { writeStderr } from './stdio.js';

let said = 0;

/** How many warnings and notes this process has written (an entry that said something is not replayed silently). */
export function messagesSaid(): number {
  return said;
}

export function warn(message: string): void {
  said++;
  writeStderr(`devbox: warning: ${message}\n`);
}

/** Something the user may want to know that is not a problem (a fallback taken, a step skipped). */
export function note(message: string): void {
  said++;
  writeStderr(`devbox: note: ${message}\n`);
}
