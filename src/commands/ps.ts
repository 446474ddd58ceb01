import { basename } from 'node:path';
import { Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { formatItems, parseTemplate } from '../cli/go-template.js';
import { PS_HEADERS, psItem, type PsItem } from '../cli/container-views.js';
import { type Container, listContainers } from '../container/lookup.js';
import { familiarName } from '../image/reference.js';
import { ImageStore } from '../image/store.js';
import { listSandboxes, type SandboxSummary } from '../sandbox/live-state.js';
import { readSettings } from '../settings/settings.js';
import { usageError } from '../util/errors.js';
import { formatSize } from '../util/format.js';

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

export default class Ps extends DevboxCommand {
  static summary = 'List containers and project sandboxes (running ones; with -a also stopped ones)';
  static aliases = ['container:ls', 'container:list', 'container:ps'];
  static examples = [
    '<%= config.bin %> ps',
    '<%= config.bin %> ps -a -q',
    '<%= config.bin %> ps --filter status=exited --format "{{.Names}}: {{.Status}}"',
    '<%= config.bin %> ps --format "table {{.ID}}\\t{{.Names}}"',
  ];
  static enableJsonFlag = true;
  static flags = {
    all: Flags.boolean({ char: 'a', description: 'also containers that are not running' }),
    quiet: Flags.boolean({ char: 'q', description: 'only container ids' }),
    latest: Flags.boolean({ char: 'l', description: 'only the latest created container' }),
    last: Flags.integer({ char: 'n', description: 'only the N latest created containers', default: -1 }),
    size: Flags.boolean({ char: 's', description: 'the size of each writable layer' }),
    'no-trunc': Flags.boolean({ description: 'do not shorten ids and commands' }),
    filter: Flags.string({ char: 'f', description: 'KEY=VALUE: name, status, ancestor, label, id, exited', multiple: true }),
    format: Flags.string({ description: 'Go template, "table TEMPLATE" or "json"' }),
  };

  async run(): Promise<PsItem[]> {
    const { flags } = await this.parse(Ps);
    const filters = parseFilters(flags.filter ?? []);
    if (flags.format && flags.format !== 'json') parseTemplate(flags.format.replace(/^table\s*/, '')); // a bad template fails before any output
    const store = ImageStore.open(readSettings().storageRoot);
    const images = new Map(store.list().map((i) => [i.id, i.names[0] ? familiarName(i.names[0]) : ImageStore.shortId(i.id)]));
    const imageName = (c: Container) => c.config.imageName || images.get(c.config.image) || ImageStore.shortId(c.config.image);
    const limit = flags.latest ? 1 : flags.last;
    let containers = listContainers(store.root).filter((c) => flags.all || limit > 0 || c.state.status === 'running' || c.state.status === 'restarting');
    containers = containers.filter((c) => matches(c, imageName(c), filters));
    if (limit > 0) containers = containers.slice(0, limit);
    const noTrunc = flags['no-trunc'];
    const size = async (c: Container) => {
      const { containerSize } = await import('../sandbox/container-usage.js');
      return formatSize(containerSize(c.dir));
    };
    const items: PsItem[] = [];
    if (!filters.size && limit < 0) {
      for (const s of listSandboxes(store.root).filter((s) => flags.all || s.running))
        items.push(sandboxItem(s, images.get(s.state.image) ?? ImageStore.shortId(s.state.image), noTrunc));
    }
    for (const c of containers) items.push(psItem(c, imageName(c), { noTrunc, size: flags.size ? await size(c) : undefined }));
    if (flags.quiet) {
      for (const item of items) this.log(item.ID);
      return items;
    }
    const columns = `table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}${flags.size ? '\t{{.Size}}' : ''}`;
    for (const line of formatItems(flags.format ?? columns, items, PS_HEADERS)) this.log(line);
    return items;
  }
}
