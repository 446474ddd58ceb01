import { Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { formatItems, parseTemplate } from '../../cli/go-template.js';
import { NETWORK_HEADERS, type NetworkListItem, networkListItem } from '../../cli/network-views.js';
import { ImageStore } from '../../image/store.js';
import { listNetworks, type NetworkRecord } from '../../network/networks.js';
import { usageError } from '../../util/errors.js';

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

export default class NetworkLs extends DevboxCommand {
  static summary = 'List networks';
  static aliases = ['network:list'];
  static examples = [
    '<%= config.bin %> network ls',
    '<%= config.bin %> network ls -q --filter type=custom',
    '<%= config.bin %> network ls --format "{{.Name}} {{.Subnet}}"',
  ];
  static enableJsonFlag = true;
  static flags = {
    quiet: Flags.boolean({ char: 'q', description: 'only network ids' }),
    'no-trunc': Flags.boolean({ description: 'full network ids' }),
    filter: Flags.string({ char: 'f', description: 'KEY=VALUE: name, id, label, driver, type (builtin or custom)', multiple: true, multipleNonGreedy: true }),
    format: Flags.string({ description: 'Go template, "table TEMPLATE" or "json"' }),
  };

  async run(): Promise<NetworkListItem[]> {
    const { flags } = await this.parse(NetworkLs);
    if (flags.format && flags.format !== 'json') parseTemplate(flags.format.replace(/^table\s*/, '')); // a bad template fails before any output
    const networks = filterNetworks(listNetworks(ImageStore.open().root), flags.filter ?? []);
    const items = networks.map((n) => networkListItem(n, flags['no-trunc']));
    if (this.jsonEnabled()) return items;
    if (flags.quiet) {
      for (const item of items) this.log(item.ID);
      return items;
    }
    for (const line of formatItems(flags.format ?? 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}', items, NETWORK_HEADERS)) this.log(line);
    return items;
  }
}
