import { basename } from 'node:path';
import { Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { formatAge, table } from '../util/format.js';
import { ImageStore } from '../image/store.js';
import { familiarName } from '../image/reference.js';
import { listContainers } from '../sandbox/containers.js';
import { listSandboxes } from '../sandbox/live-sandbox.js';
import { readSettings } from '../settings/settings.js';

export default class Ps extends DevboxCommand {
  static summary = 'List containers and project sandboxes (running ones; with -a also stopped ones)';
  static examples = ['<%= config.bin %> ps', '<%= config.bin %> ps -a -q'];
  static flags = {
    all: Flags.boolean({ char: 'a', description: 'also containers that have exited' }),
    quiet: Flags.boolean({ char: 'q', description: 'only container ids' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Ps);
    const store = ImageStore.open(readSettings().storageRoot);
    const images = new Map(store.list().map((i) => [i.id, i.names[0] ? familiarName(i.names[0]) : ImageStore.shortId(i.id)]));
    const imageName = (id: string) => images.get(id) ?? (id ? ImageStore.shortId(id) : '<unknown>');
    const sandboxes = listSandboxes(store.root).filter((s) => flags.all || s.running);
    const containers = listContainers(store.root).filter((c) => flags.all || c.running);
    const rows = [
      ...sandboxes.map((s) => [
        basename(s.dir).slice(0, 12),
        imageName(s.state.image),
        formatAge(s.state.created),
        s.running ? (s.state.starting ? 'Starting' : 'Up') : 'Stopped',
        `${s.state.name} (${s.state.project})`,
      ]),
      ...containers.map((c) => [c.id.slice(0, 12), imageName(c.image), formatAge(c.created), c.running ? 'Up' : `Exited (${c.exitCode ?? '?'})`, '']),
    ];
    if (flags.quiet) {
      for (const row of rows) this.log(row[0]);
      return;
    }
    this.log(table(['CONTAINER ID', 'IMAGE', 'CREATED', 'STATUS', 'PROJECT'], rows));
  }
}
