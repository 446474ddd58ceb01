/**
 * `devbox start`, `stop` and `rm` (docker's): containers, and for stop and rm project sandboxes too (the current
 * project's when none is named). bin/devbox runs them without oclif, whose loading cost more than the verb; the
 * oclif commands (commands/{start,stop,rm}.ts, their help and aliases) call the same functions.
 */
import { findSandboxes, removeProjectSandboxes, stopProjectSandboxes } from '../project/sandboxes.js';
import { removeContainers, startContainers, stopContainers } from '../sandbox/container-lifecycle.js';
import { checkOperands, optionUsage, parseOptionTable, type OptionDef } from './option-table.js';
import { printLines } from './print.js';
import { reportError } from './report.js';

export const START_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'attach', char: 'a', kind: 'boolean', description: 'attach to its output (and stay until it exits, with its status)' },
  { name: 'interactive', char: 'i', kind: 'boolean', description: 'attach its stdin' },
  { name: 'detach-keys', kind: 'string', description: 'keys that detach from it (default ctrl-p,ctrl-q)' },
];

export const STOP_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'time', char: 't', kind: 'string', description: 'seconds to wait before killing it (default: its --stop-timeout, 10)' },
  { name: 'signal', char: 's', kind: 'string', description: 'signal to stop it with (default: its stop signal)' },
];

export const RM_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'force', char: 'f', kind: 'boolean', description: 'also remove running ones: they are killed first' },
  { name: 'volumes', char: 'v', kind: 'boolean', description: 'also remove its anonymous volumes' },
];

/** The containers among `refs` and the project sandboxes (the current project's when `refs` is empty). */
function sandboxesAndContainers(refs: readonly string[]) {
  const found = findSandboxes(refs);
  return { sandboxes: found.flatMap((f) => (f.sandbox ? [f.sandbox] : [])), containers: found.filter((f) => !f.sandbox).map((f) => f.ref) };
}

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

/** `devbox stop ARGV...`; returns the exit status. */
export async function stopMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptionTable('stop', STOP_OPTION_DEFS, argv);
    const time = values.time === undefined ? undefined : Number(values.time);
    if (time !== undefined && (!/^-?\d+$/.test(values.time as string) || !Number.isSafeInteger(time)))
      throw optionUsage('stop', `--time takes a whole number of seconds, not "${values.time}"`);
    const { sandboxes, containers } = sandboxesAndContainers(positionals);
    await stopContainers(containers, time, values.signal as string | undefined);
    return printLines([...(await stopProjectSandboxes(sandboxes)), ...containers]);
  } catch (error) {
    return reportError(error);
  }
}

/** `devbox rm ARGV...`; returns the exit status. */
export async function rmMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptionTable('rm', RM_OPTION_DEFS, argv);
    const { sandboxes, containers } = sandboxesAndContainers(positionals);
    printLines(await removeProjectSandboxes(sandboxes, values.force === true));
    await removeContainers(containers, values.force === true, values.volumes === true);
    return printLines(containers); // each as given, as docker rm prints them
  } catch (error) {
    return reportError(error);
  }
}
