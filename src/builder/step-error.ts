/**
 * A build step that cannot be done as written (a bad argument, a missing source, a command that failed):
 * the message says why; the builder puts `Dockerfile:LINE: INSTRUCTION:` in front of it.
 */
export class StepError extends Error {}
