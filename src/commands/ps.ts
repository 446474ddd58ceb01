import { Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { formatAge, table } from '../cli/format.js';
import { ImageStore } from '../image/store.js';
import { familiarName } from '../image/reference.js';
import { listContainers } from '../sandbox/containers.js';
import { readSettings } from '../settings/settings.js';

export default class Ps extends DevboxCommand {
  static summary = 'List containers (running ones; with -a also those kept after they exited)';
  static examples = ['<%= config.bin %> ps', '<%= config.bin %> ps -a -q'];
  static flags = {
    all: Flags.boolean({ char: 'a', description: 'also containers that have exited' }),
    quiet: Flags.boolean({ char: 'q', description: 'only container ids' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Ps);
    const store = ImageStore.open(readSettings().storageRoot);
    const images = new Map(store.list().map((i) => [i.id, i.names[0] ? familiarName(i.names[0]) : ImageStore.shortId(i.id)]));
    const containers = listContainers(store.root).filter((c) => flags.all || c.running);
    if (flags.quiet) {
      for (const c of containers) this.log(c.id.slice(0, 12));
      return;
    }
    const rows = containers.map((c) => [c.id.slice(0, 12), images.get(c.image) ?? (c.image ? ImageStore.shortId(c.image) : '<unknown>'), formatAge(c.created), c.running ? 'Up' : `Exited (${c.exitCode ?? '?'})`]);
    this.log(table(['CONTAINER ID', 'IMAGE', 'CREATED', 'STATUS'], rows));
  }
}
