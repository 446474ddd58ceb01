/**
 * `devbox network ls` (docker network ls). bin/devbox runs it without oclif, whose loading cost more than the
 * listing; the oclif command (commands/network/ls.ts, its help and its alias) calls the same networkLsMain.
 */
import { ImageStore } from '../image/store.js';
import { listNetworks, type NetworkRecord } from '../network/networks.js';
import { usageError } from '../util/errors.js';
import { formatRows, parseTemplate } from '../util/go-template.js';
import { NETWORK_HEADERS, networkListItem } from './network-views.js';
import { checkOperands, parseOptionTable, type OptionDef } from './option-table.js';
import { printJson, printLines } from './print.js';
import { reportError } from './report.js';

export const NETWORK_LS_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'quiet', char: 'q', kind: 'boolean', description: 'only network ids' },
  { name: 'no-trunc', kind: 'boolean', description: 'full network ids' },
  { name: 'filter', char: 'f', kind: 'multiple', description: 'KEY=VALUE: name, id, label, driver, type (builtin or custom)' },
  { name: 'format', kind: 'string', description: 'Go template, "table TEMPLATE" or "json"' },
];

const FILTER_KEYS = ['name', 'id', 'label', 'driver', 'type'];

/** docker network ls --filter KEY=VALUE; several of one key: any matches, of different keys: all must. */
function filterNetworks(networks: NetworkRecord[], specs: readonly string[]): NetworkRecord[] {
  const filters = new Map<string, string[]>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const key = spec.slice(0, eq);
    if (eq < 1 || !FILTER_KEYS.includes(key)) throw usageError(`invalid filter "${spec}"`, `use ${FILTER_KEYS.map((k) => `${k}=`).join(', ')}`);
    const value = spec.slice(eq + 1);
    if (key === 'type' && value !== 'builtin' && value !== 'custom') throw usageError(`invalid filter "${spec}"`, 'type is builtin or custom');
    filters.set(key, [...(filters.get(key) ?? []), value]);
  }
  const test: Record<string, (n: NetworkRecord, v: string) => boolean> = {
    name: (n, v) => n.name.includes(v),
    id: (n, v) => n.id.startsWith(v),
    driver: (n, v) => n.driver === v,
    type: (n, v) => (v === 'builtin') === (n.name === 'bridge'),
    label: (n, v) => {
      const [k, value] = v.split(/=(.*)/s, 2);
      return k in n.labels && (value === undefined || n.labels[k] === value);
    },
  };
  return networks.filter((n) => [...filters].every(([key, values]) => values.some((v) => test[key](n, v))));
}

/** `devbox network ls ARGV...`; returns the exit status. */
export async function networkLsMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptionTable('network ls', NETWORK_LS_OPTION_DEFS, argv, { json: true });
    checkOperands('network ls', positionals);
    const format = values.format as string | undefined;
    if (format && format !== 'json') parseTemplate(format.replace(/^table\s*/, '')); // a bad template fails before any output
    const networks = filterNetworks(listNetworks(ImageStore.open().root), (values.filter as string[] | undefined) ?? []);
    const items = networks.map((n) => networkListItem(n, values['no-trunc'] === true));
    if (values.json) return printJson(items);
    if (values.quiet) return printLines(items.map((item) => item.ID));
    return printLines(formatRows(format ?? 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}', items, NETWORK_HEADERS));
  } catch (error) {
    return reportError(error);
  }
}
