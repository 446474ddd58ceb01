/**
 * `devbox run` without oclif: bin/devbox comes here directly, because loading oclif costs more than the
 * whole sandbox start. Inside a project (a devbox.json or devcontainer.json here or above) it runs the
 * command in the project's sandbox; elsewhere, and always as `devbox container run`, it is docker's run.
 * `devbox run --help` still goes through oclif (src/commands/run.ts).
 */
import { findProjectConfig } from '../project/discover.js';
import { DevboxError } from '../util/errors.js';
import { CONTAINER_START_FAILED, reportError } from './report.js';

/**
 * `devbox run make test` typed outside a project pulls an image called make: when that pull fails, the line
 * says what else the user may have meant.
 */
function outsideProject(error: unknown): unknown {
  if (!(error instanceof DevboxError) || !error.message.startsWith('cannot pull ')) return error;
  return new DevboxError(error.message, {
    fix: `${error.fix ? `${error.fix}; ` : ''}no devbox.json or .devcontainer/devcontainer.json in ${process.cwd()} or above: devbox init makes a project, whose sandbox devbox run runs commands in; outside one, devbox run IMAGE runs an image as docker run does`,
    kind: error.kind,
    cause: error,
  });
}

/** `inProject`: false for `devbox container run`, which is docker's run wherever it is typed. */
export async function runMain(argv: readonly string[], inProject?: boolean): Promise<number> {
  if (inProject ?? findProjectConfig(process.cwd()) !== undefined) {
    const { projectMain } = await import('./project-main.js');
    return projectMain(argv, 'run');
  }
  try {
    const { containerRun } = await import('./container-run.js');
    return await containerRun(argv);
  } catch (error) {
    // As docker run: whatever stopped the container from starting is status 125.
    return reportError(inProject === undefined ? outsideProject(error) : error, CONTAINER_START_FAILED);
  }
}
