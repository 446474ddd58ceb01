/**
 * `devbox build` without oclif: bin/devbox comes here directly, so a rebuild with nothing to do costs what
 * Node.js and the build modules cost, not oclif's start-up. `devbox build --help` goes through oclif.
 */
import { buildImage } from '../builder/builder.js';
import { parseBuildArgs } from './build-options.js';
import { reportError } from './report.js';

export async function buildMain(argv: readonly string[]): Promise<number> {
  try {
    const result = await buildImage(parseBuildArgs(argv));
    process.stdout.write(`${result.id}\n`);
    return 0;
  } catch (error) {
    return reportError(error);
  }
}
