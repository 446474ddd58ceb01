/**
 * `devbox run` without oclif: bin/devbox comes here directly, because loading oclif costs more than the
 * whole sandbox start. `devbox run --help` still goes through oclif (src/commands/run.ts).
 */
import { runImage } from '../sandbox/run-image.js';
import { parseRunArgs } from './run-options.js';
import { reportError } from './report.js';

export async function runMain(argv: readonly string[]): Promise<number> {
  try {
    return await runImage(parseRunArgs(argv));
  } catch (error) {
    return reportError(error);
  }
}
