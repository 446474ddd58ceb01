/**
 * `devbox logs` (docker logs): what a container's supervisor recorded of its output. bin/devbox runs it without
 * oclif, whose loading cost more than printing a log; the oclif command (commands/logs.ts, its help and its
 * alias) calls the same logsMain.
 */
import { findContainer } from '../container/lookup.js';
import { parseLogTime, parseTail, printLogs } from '../container/logs.js';
import { readSettings } from '../settings/settings.js';
import { checkOperands, parseOptionTable, type OptionDef } from './option-table.js';
import { reportError } from './report.js';

export const LOGS_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'follow', char: 'f', kind: 'boolean', description: 'keep printing new output until the container stops' },
  { name: 'tail', char: 'n', kind: 'string', description: 'only this many lines from the end ("all" for every line)' },
  { name: 'timestamps', char: 't', kind: 'boolean', description: 'show the time of each line' },
  { name: 'since', kind: 'string', description: 'only lines since a time (RFC 3339, Unix seconds) or a duration ago (10m)' },
  { name: 'until', kind: 'string', description: 'only lines before a time (RFC 3339, Unix seconds) or a duration ago (10m)' },
];

/** `devbox logs ARGV...`; returns the exit status. */
export async function logsMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptionTable('logs', LOGS_OPTION_DEFS, argv);
    const [ref] = checkOperands('logs', positionals, 'a container', 1);
    const tail = parseTail(values.tail as string | undefined);
    const container = findContainer(readSettings().storageRoot, ref);
    const time = (name: 'since' | 'until') => (values[name] === undefined ? undefined : parseLogTime(values[name] as string, `--${name}`));
    await printLogs(container, { follow: values.follow === true, tail, timestamps: values.timestamps === true, since: time('since'), until: time('until') });
    return 0;
  } catch (error) {
    return reportError(error);
  }
}
