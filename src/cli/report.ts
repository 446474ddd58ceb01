/** Prints an error the way every devbox entry point does and returns the exit status to use. */
import { DevboxError } from '../util/errors.js';
import { writeStderr } from '../util/stdio.js';

/** Usage errors exit 125 everywhere (docker's CLI); other failures `failureStatus`: 1, or 125 where a container is run. */
export const USAGE_STATUS = 125;
/** What `docker run` exits with when the container could not be run: the failure status of run-like commands. */
export const CONTAINER_START_FAILED = 125;

export function reportError(error: unknown, failureStatus = 1): number {
  if (error instanceof DevboxError) {
    writeStderr(`devbox: ${error.toLine()}\n`);
    if (process.env.DEVBOX_DEBUG && error.cause) console.error(error.cause);
    return error.kind === 'usage' ? USAGE_STATUS : failureStatus;
  }
  console.error(error);
  return failureStatus;
}
