/** Prints an error the way every devbox entry point does and returns the exit status to use. */
import { DevboxError } from '../util/errors.js';

export function reportError(error: unknown): number {
  if (error instanceof DevboxError) {
    process.stderr.write(`devbox: ${error.toLine()}\n`);
    if (process.env.DEVBOX_DEBUG && error.cause) console.error(error.cause);
    return error.exitCode;
  }
  console.error(error);
  return 1;
}
