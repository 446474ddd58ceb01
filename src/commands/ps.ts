import { basename } from 'node:path';
import { Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { formatAge, table } from '../util/format.js';
import { ImageStore } from '../image/store.js';
import { familiarName } from '../image/reference.js';
import { listContainers } from '../sandbox/containers.js';
import { listSandboxes } from '../sandbox/live-state.js';
import { readSettings } from '../settings/settings.js';

export default class Ps extends DevboxCommand {
  static summary = 'List containers and project sandboxes (running ones; with -a also stopped ones)';
  static examples = ['<%= config.bin %> ps', '<%= config.bin %> ps -a -q'];
  static enableJsonFlag = true;
  static flags = {
    all: Flags.boolean({ char: 'a', description: 'also containers that have exited' }),
    quiet: Flags.boolean({ char: 'q', description: 'only container ids' }),
  };

  async run(): Promise<object[]> {
    const { flags } = await this.parse(Ps);
    const store = ImageStore.open(readSettings().storageRoot);
    const images = new Map(store.list().map((i) => [i.id, i.names[0] ? familiarName(i.names[0]) : ImageStore.shortId(i.id)]));
    const imageName = (id: string) => images.get(id) ?? (id ? ImageStore.shortId(id) : '<unknown>');
    const sandboxes = listSandboxes(store.root).filter((s) => flags.all || s.running);
    const containers = listContainers(store.root).filter((c) => flags.all || c.running);
    const entries = [
      ...sandboxes.map((s) => ({
        Id: basename(s.dir),
        Image: imageName(s.state.image),
        ImageID: s.state.image,
        Created: s.state.created,
        State: s.running ? 'running' : 'stopped',
        Status: s.running ? 'Up' : 'Stopped',
        Project: s.state.project,
        Name: s.state.name,
      })),
      ...containers.map((c) => ({
        Id: c.id,
        Image: imageName(c.image),
        ImageID: c.image,
        Created: c.created,
        State: c.running ? 'running' : 'exited',
        Status: c.running ? 'Up' : `Exited (${c.exitCode ?? '?'})`,
        ...(c.exitCode === undefined ? {} : { ExitCode: c.exitCode }),
      })),
    ];
    if (flags.quiet) {
      for (const entry of entries) this.log(entry.Id.slice(0, 12));
      return entries;
    }
    const project = (e: (typeof entries)[number]) => ('Project' in e ? `${e.Name} (${e.Project})` : '');
    this.log(
      table(
        ['CONTAINER ID', 'IMAGE', 'CREATED', 'STATUS', 'PROJECT'],
        entries.map((e) => [e.Id.slice(0, 12), e.Image, formatAge(e.Created), e.Status, project(e)]),
      ),
    );
    return entries;
  }
}
