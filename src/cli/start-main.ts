/**
 * `devbox start` (docker's): its own bundle, because it loads the whole start path, which `devbox stop` and
 * `rm` (lifecycle-main.ts) do not need. bin/devbox runs it without oclif; the oclif command (commands/start.ts,
 * its help and aliases) calls the same function.
 */
import { startContainers } from '../sandbox/container-restart.js';
import { checkOperands, parseOptionTable, type OptionDef } from './option-table.js';
import { printLines } from './print.js';
import { reportError } from './report.js';

export const START_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'attach', char: 'a', kind: 'boolean', description: 'attach to its output (and stay until it exits, with its status)' },
  { name: 'interactive', char: 'i', kind: 'boolean', description: 'attach its stdin' },
  { name: 'detach-keys', kind: 'string', description: 'keys that detach from it (default ctrl-p,ctrl-q)' },
];

/** `devbox start ARGV...`; returns the exit status (the container's with -a). */
export async function startMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptionTable('start', START_OPTION_DEFS, argv);
    const refs = checkOperands('start', positionals, 'a container');
    const attach = values.attach === true;
    const outcome = await startContainers(refs, { attach, interactive: values.interactive === true, detachKeys: values['detach-keys'] as string | undefined });
    if (outcome && 'exited' in outcome) return outcome.exited;
    return attach ? 0 : printLines(refs);
  } catch (error) {
    return reportError(error);
  }
}
