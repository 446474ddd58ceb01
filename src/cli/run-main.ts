/**
 * `devbox run` without oclif: bin/devbox comes here directly, because loading oclif costs more than the
 * whole sandbox start. Inside a project (a devbox.json or devcontainer.json here or above) it runs the
 * command in the project's sandbox; elsewhere, and always as `devbox container run`, it is docker's run.
 * `devbox run --help` still goes through oclif (src/commands/run.ts).
 */
import { findProjectConfig } from '../project/discover.js';
import { CONTAINER_START_FAILED, reportError } from './report.js';

export async function runMain(argv: readonly string[], inProject = findProjectConfig(process.cwd()) !== undefined): Promise<number> {
  if (inProject) {
    const { projectMain } = await import('./project-main.js');
    return projectMain(argv, 'run');
  }
  try {
    const { containerRun } = await import('./container-run.js');
    return await containerRun(argv);
  } catch (error) {
    // As docker run: whatever stopped the container from starting is status 125.
    return reportError(error, CONTAINER_START_FAILED);
  }
}
