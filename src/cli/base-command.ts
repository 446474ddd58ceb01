/**
 * Base of every oclif command: expected failures (DevboxError) print one line and exit with their status;
 * anything else keeps its stack, since it is a bug.
 */
import { Command } from '@oclif/core';
import { DevboxError } from '../util/errors.js';
import { reportError } from './report.js';

export abstract class DevboxCommand extends Command {
  /** Exit status of a failure (a usage error is always 125): 1, as docker's CLI; 125 where podman's is. */
  protected failureStatus = 1;

  protected async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    if (error instanceof DevboxError || !error.oclif) {
      process.exitCode = reportError(error, this.failureStatus);
      return;
    }
    // oclif's own usage errors (unknown flag, missing argument) already read as one line.
    throw error;
  }
}
