/**
 * `devbox shell` and `devbox run CMD` inside a project, without oclif (bin/devbox comes here directly: entering
 * a live sandbox must take well under 100 ms). Their help goes through oclif (src/commands/shell.ts, run.ts).
 * Options, as `docker exec` has them: -t/--tty, -u/--user root; the command starts at the first other word.
 */
import { enterProject, type EnterOptions } from '../project/enter.js';
import { DevboxError } from '../util/errors.js';
import { CONTAINER_START_FAILED, reportError } from './report.js';

// `devbox stop` and `rm` of project sandboxes (lifecycle-main.ts) load them from this entry's bundle, and only
// when a ref is not a container's: the project code is most of a bundle's size, and its parse most of the cost.
export { findSandboxes, removeProjectSandboxes, stopProjectSandboxes } from '../project/sandboxes.js';

class UnknownProjectOption extends DevboxError {
  constructor(
    readonly what: 'shell' | 'run',
    readonly option: string,
  ) {
    super(`devbox ${what}: unknown option "${option}"`, { fix: `see devbox ${what} --help`, kind: 'usage' });
  }
}

/**
 * An option of `devbox container run` given to a project's `devbox run` (`devbox run --rm IMAGE` in a repo,
 * as Docker users type it): says which run is which. The option table is loaded only for this message.
 */
async function explained(error: UnknownProjectOption): Promise<DevboxError> {
  if (error.what !== 'run') return error;
  const { RUN_OPTION_DEFS } = await import('./run-options.js');
  const match = /^--?([^=]+)/.exec(error.option);
  const name = match?.[1];
  const known = RUN_OPTION_DEFS.some((d) => (error.option.startsWith('--') ? d.name === name : d.char !== undefined && name?.startsWith(d.char)));
  if (!known) return error;
  return new DevboxError(`devbox run: "${error.option}" is an option of devbox container run; in a project, devbox run runs a command in its sandbox`, {
    fix: `to run an image, use devbox container run ${error.option} IMAGE …`,
    kind: 'usage',
  });
}

function parseProjectArgs(argv: readonly string[], what: 'shell' | 'run'): EnterOptions {
  const options: EnterOptions = { tty: what === 'shell' && process.stdin.isTTY === true, interactive: true };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (arg === '-t' || arg === '--tty') options.tty = true;
    else if (arg === '-u' || arg === '--user' || arg.startsWith('--user=')) {
      const value = arg.startsWith('--user=') ? arg.slice(7) : argv[++i];
      if (value !== 'root')
        throw new DevboxError(`--user: expected root, got "${value ?? ''}"`, { fix: 'the sandbox runs as you; -u root gives root inside it', kind: 'usage' });
      options.user = 'root';
    } else throw new UnknownProjectOption(what, arg);
  }
  const command = argv.slice(i);
  if (what === 'run') {
    if (!command.length) throw new DevboxError('devbox run: no command given', { fix: 'devbox run CMD [ARG...], e.g. devbox run make test', kind: 'usage' });
    options.command = command;
  } else if (command.length) {
    throw new DevboxError(`devbox shell takes no command ("${command[0]}")`, { fix: `use devbox run ${command.join(' ')}`, kind: 'usage' });
  }
  return options;
}

export async function projectMain(argv: readonly string[], what: 'shell' | 'run'): Promise<number> {
  try {
    // bin/devbox's arguments as the launcher (native/launcher.c) sees them, for the join record.
    return await enterProject({ ...parseProjectArgs(argv, what), commandLine: process.argv.slice(2) });
  } catch (error) {
    return reportError(error instanceof UnknownProjectOption ? await explained(error) : error, CONTAINER_START_FAILED);
  }
}
