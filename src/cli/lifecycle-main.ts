/**
 * `devbox stop` and `rm` (docker's): containers, and project sandboxes too (the current project's when none is
 * named). bin/devbox runs them without oclif, whose loading cost more than the verb; the oclif commands
 * (commands/{stop,rm}.ts, their help and aliases) call the same functions. `devbox start` is start-main.ts.
 */
import { namesContainer } from '../container/lookup.js';
import { removeContainers, stopContainers } from '../sandbox/container-lifecycle.js';
import { listSandboxes, sandboxesNamedBy, type SandboxSummary } from '../sandbox/live-state.js';
import { readSettings } from '../settings/settings.js';
import { optionUsage, parseOptionTable, type OptionDef } from './option-table.js';
import { printLines } from './print.js';
import { reportError } from './report.js';

export const STOP_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'time', char: 't', kind: 'string', description: 'seconds to wait before killing it (default: its --stop-timeout, 10)' },
  { name: 'signal', char: 's', kind: 'string', description: 'signal to stop it with (default: its stop signal)' },
];

export const RM_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'force', char: 'f', kind: 'boolean', description: 'also remove running ones: they are killed first' },
  { name: 'volumes', char: 'v', kind: 'boolean', description: 'also remove its anonymous volumes' },
];

type SandboxVerbs = Pick<typeof import('./project-main.js'), 'stopProjectSandboxes' | 'removeProjectSandboxes'>;

/**
 * The containers among `refs` and the project sandboxes (the current project's when `refs` is empty). The
 * project code comes from the project bundle, loaded only when some ref may name a sandbox.
 */
async function sandboxesAndContainers(refs: readonly string[]): Promise<{ sandboxes: SandboxSummary[]; containers: string[]; verbs?: SandboxVerbs }> {
  const root = readSettings().storageRoot;
  const live = listSandboxes(root);
  const container = (ref: string) => namesContainer(root, ref) || sandboxesNamedBy(live, ref).length === 0;
  if (refs.length > 0 && refs.every(container)) return { sandboxes: [], containers: [...refs] };
  const verbs = await import('./project-main.js');
  const found = verbs.findSandboxes(refs);
  return { sandboxes: found.flatMap((f) => (f.sandbox ? [f.sandbox] : [])), containers: found.filter((f) => !f.sandbox).map((f) => f.ref), verbs };
}

/** `devbox stop ARGV...`; returns the exit status. */
export async function stopMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptionTable('stop', STOP_OPTION_DEFS, argv);
    const time = values.time === undefined ? undefined : Number(values.time);
    if (time !== undefined && (!/^-?\d+$/.test(values.time as string) || !Number.isSafeInteger(time)))
      throw optionUsage('stop', `--time takes a whole number of seconds, not "${values.time}"`);
    const { sandboxes, containers, verbs } = await sandboxesAndContainers(positionals);
    await stopContainers(containers, time, values.signal as string | undefined);
    return printLines([...((await verbs?.stopProjectSandboxes(sandboxes)) ?? []), ...containers]);
  } catch (error) {
    return reportError(error);
  }
}

/** `devbox rm ARGV...`; returns the exit status. */
export async function rmMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptionTable('rm', RM_OPTION_DEFS, argv);
    const { sandboxes, containers, verbs } = await sandboxesAndContainers(positionals);
    printLines((await verbs?.removeProjectSandboxes(sandboxes, values.force === true)) ?? []);
    await removeContainers(containers, values.force === true, values.volumes === true);
    return printLines(containers); // each as given, as docker rm prints them
  } catch (error) {
    return reportError(error);
  }
}
