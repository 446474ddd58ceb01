/**
 * `devbox ps` (docker ps): containers and project sandboxes. bin/devbox runs it without oclif, whose loading
 * cost more than the listing; the oclif command (commands/ps.ts, its help and its aliases `container ls`)
 * calls the same psMain. Options: PS_OPTION_DEFS, parsed by option-table.ts.
 */
import { basename } from 'node:path';
import { type Container, listContainers } from '../container/lookup.js';
import { familiarName } from '../image/reference.js';
import { ImageStore } from '../image/store.js';
import { listSandboxes, type SandboxSummary } from '../sandbox/live-state.js';
import { readSettings } from '../settings/settings.js';
import { usageError } from '../util/errors.js';
import { formatSize } from '../util/format.js';
import { formatRows, parseTemplate } from '../util/go-template.js';
import { PS_HEADERS, psItem, type PsItem } from './container-views.js';
import { checkOperands, optionUsage, parseOptionTable, type OptionDef } from './option-table.js';
import { printJson, printLines } from './print.js';
import { reportError } from './report.js';

export const PS_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'all', char: 'a', kind: 'boolean', description: 'also containers that are not running' },
  { name: 'quiet', char: 'q', kind: 'boolean', description: 'only container ids' },
  { name: 'latest', char: 'l', kind: 'boolean', description: 'only the latest created container' },
  { name: 'last', char: 'n', kind: 'string', helpValue: 'N', description: 'only the N latest created containers' },
  { name: 'size', char: 's', kind: 'boolean', description: 'the size of each writable layer' },
  { name: 'no-trunc', kind: 'boolean', description: 'do not shorten ids and commands' },
  { name: 'filter', char: 'f', kind: 'multiple', helpValue: 'KEY=VALUE', description: 'KEY=VALUE: name, status, ancestor, label, id, exited' },
  { name: 'format', kind: 'string', description: 'Go template, "table TEMPLATE" or "json"' },
];

const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

/** docker ps --filter KEY=VALUE; several of one key: any matches, of different keys: all must. */
function parseFilters(specs: readonly string[]): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const key = spec.slice(0, eq);
    if (eq < 1 || !['name', 'status', 'ancestor', 'label', 'id', 'exited'].includes(key)) {
      throw usageError(`invalid filter "${spec}"`, 'use name=, status=, ancestor=, label=, id= or exited=');
    }
    const value = spec.slice(eq + 1);
    if (key === 'status' && !STATUSES.includes(value)) throw usageError(`invalid filter "status=${value}"`, `status is one of ${STATUSES.join(', ')}`);
    filters.set(key, [...(filters.get(key) ?? []), value]);
  }
  return filters;
}

function matches(c: Container, image: string, filters: Map<string, string[]>): boolean {
  const test: Record<string, (v: string) => boolean> = {
    name: (v) => c.config.name.includes(v),
    status: (v) => c.state.status === v,
    ancestor: (v) => image === v || image === `${v}:latest` || c.config.image.replace(/^sha256:/, '').startsWith(v.replace(/^sha256:/, '')),
    label: (v) => {
      const [k, value] = v.split(/=(.*)/s, 2);
      return k in c.config.labels && (value === undefined || c.config.labels[k] === value);
    },
    id: (v) => c.id.startsWith(v),
    exited: (v) => c.state.status === 'exited' && c.state.exitCode === Number(v),
  };
  return [...filters].every(([key, values]) => values.some((v) => test[key](v)));
}

/** A project sandbox as a ps row: labelled with its project, named after it. */
function sandboxItem(s: SandboxSummary, image: string, noTrunc: boolean): PsItem {
  const id = basename(s.dir);
  return {
    ID: noTrunc ? id : id.slice(0, 12),
    Image: image,
    Command: '"devbox shell"',
    CreatedAt: s.state.created,
    RunningFor: '',
    Ports: '',
    State: s.running ? 'running' : 'exited',
    Status: s.running ? (s.state.starting ? 'Starting' : 'Up') : 'Stopped',
    Size: '',
    Names: s.state.name,
    Labels: `dev.devbox.project=${s.state.project}`,
    Mounts: s.state.project,
    Networks: '',
    Label: (key: string) => (key === 'dev.devbox.project' ? s.state.project : ''),
  };
}

/** The rows `devbox ps` prints, for these parsed options. */
async function psItems(values: Record<string, unknown>): Promise<PsItem[]> {
  const filters = parseFilters((values.filter as string[] | undefined) ?? []);
  const format = values.format as string | undefined;
  if (format && format !== 'json') parseTemplate(format.replace(/^table\s*/, '')); // a bad template fails before any output
  const last = values.last === undefined ? -1 : Number(values.last);
  if (!Number.isInteger(last)) throw optionUsage('ps', `--last takes a whole number, not "${values.last}"`);
  const store = ImageStore.open(readSettings().storageRoot);
  // The index alone names every image (store.list() also reads each image's config and manifest: ~9 ms more).
  const images = new Map(Object.entries(store.readIndex().images).map(([id, i]) => [id, i.names[0] ? familiarName(i.names[0]) : ImageStore.shortId(id)]));
  const imageName = (c: Container) => c.config.imageName || images.get(c.config.image) || ImageStore.shortId(c.config.image);
  const limit = values.latest ? 1 : last;
  let containers = listContainers(store.root).filter((c) => values.all || limit > 0 || c.state.status === 'running' || c.state.status === 'restarting');
  containers = containers.filter((c) => matches(c, imageName(c), filters));
  if (limit > 0) containers = containers.slice(0, limit);
  const noTrunc = values['no-trunc'] === true;
  const size = async (c: Container) => {
    const { containerSize } = await import('../sandbox/container-usage.js');
    return formatSize(containerSize(c.dir));
  };
  const items: PsItem[] = [];
  if (!filters.size && limit < 0) {
    for (const s of listSandboxes(store.root).filter((s) => values.all || s.running))
      items.push(sandboxItem(s, images.get(s.state.image) ?? ImageStore.shortId(s.state.image), noTrunc));
  }
  for (const c of containers) items.push(psItem(c, imageName(c), { noTrunc, size: values.size ? await size(c) : undefined }));
  return items;
}

/** `devbox ps ARGV...`; returns the exit status. */
export async function psMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptionTable('ps', PS_OPTION_DEFS, argv, { json: true });
    checkOperands('ps', positionals);
    const items = await psItems(values);
    if (values.json) return printJson(items);
    if (values.quiet) return printLines(items.map((item) => item.ID));
    const columns = `table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}${values.size ? '\t{{.Size}}' : ''}`;
    return printLines(formatRows((values.format as string | undefined) ?? columns, items, PS_HEADERS));
  } catch (error) {
    return reportError(error);
  }
}
