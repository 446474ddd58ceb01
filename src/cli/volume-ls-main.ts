/**
 * `devbox volume ls` (docker volume ls). bin/devbox runs it without oclif, whose loading cost more than the
 * listing; the oclif command (commands/volume/ls.ts, its help and its alias) calls the same volumeLsMain.
 */
import { listShape, volumeFilter, volumeUsers } from '../sandbox/volumes.js';
import { readSettings } from '../settings/settings.js';
import { formatRows } from '../util/go-template.js';
import { listVolumes } from '../volume/volume-store.js';
import { checkOperands, parseOptionTable, type OptionDef } from './option-table.js';
import { printLines } from './print.js';
import { reportError } from './report.js';

export const VOLUME_LS_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'quiet', char: 'q', kind: 'boolean', description: 'only volume names' },
  { name: 'filter', char: 'f', kind: 'multiple', description: 'dangling=true|false, driver=local, label=KEY[=VALUE], name=TEXT (repeatable)' },
  { name: 'format', kind: 'string', description: 'Go template ({{.Name}}, {{.Driver}}, {{.Labels}}, {{.Mountpoint}} …), "table …" or "json"' },
];

/** `devbox volume ls ARGV...`; returns the exit status. */
export async function volumeLsMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptionTable('volume ls', VOLUME_LS_OPTION_DEFS, argv);
    checkOperands('volume ls', positionals);
    const storeRoot = readSettings().storageRoot;
    const users = volumeUsers(storeRoot);
    const matches = volumeFilter((values.filter as string[] | undefined) ?? []);
    const rows = listVolumes(storeRoot)
      .filter((v) => matches(v, users))
      .map((v) => listShape(v, users));
    const format = values.quiet ? '{{.Name}}' : ((values.format as string | undefined) ?? 'table');
    return printLines(formatRows(format, rows, { Name: 'VOLUME NAME', CreatedAt: 'CREATED' }, '{{.Driver}}\t{{.Name}}'));
  } catch (error) {
    return reportError(error);
  }
}
