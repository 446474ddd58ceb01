import { basename } from 'node:path';
import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { table } from '../util/format.js';
import { findContainer, listContainers, readPorts } from '../sandbox/containers.js';
import { listSandboxes } from '../sandbox/live-sandbox.js';
import { readSettings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';

export default class Ports extends DevboxCommand {
  static summary = 'List the ports forwarded to running containers and project sandboxes: published (-p, "ports") and auto-forwarded';
  static examples = ['<%= config.bin %> ports', '<%= config.bin %> ports 3f2a'];
  static args = { container: Args.string({ description: 'container or sandbox id, or unique prefix (default: every running one)' }) };

  async run(): Promise<void> {
    const { args } = await this.parse(Ports);
    const root = readSettings().storageRoot;
    // A project sandbox's id is its directory's name, as `devbox ps` shows it.
    const all = [
      ...listSandboxes(root).map((s) => ({ id: basename(s.dir), dir: s.dir, running: s.running })),
      ...listContainers(root).map((c) => ({ id: c.id, dir: c.dir, running: c.running })),
    ];
    const containers = args.container ? [findContainer(all, args.container)] : all.filter((c) => c.running);
    const stopped = containers.find((c) => !c.running);
    if (stopped) throw new DevboxError(`container ${stopped.id.slice(0, 12)} is not running`, { fix: 'forwards end with the container' });
    const forwards = containers.flatMap((c) => readPorts(c.dir).map((f) => ({ id: c.id, ...f })));
    const rows = forwards.map((f) => [
      f.id.slice(0, 12),
      `${f.containerPort}/${f.protocol}`,
      `${f.hostIp}:${f.hostPort}`,
      f.origin === 'publish' ? 'published' : 'auto',
    ]);
    // A project's devcontainer.json may name its ports (portsAttributes): then they are shown.
    if (forwards.some((f) => f.label)) {
      this.log(
        table(
          ['CONTAINER ID', 'PORT', 'HOST ADDRESS', 'FORWARD', 'LABEL'],
          rows.map((row, i) => [...row, forwards[i].label ?? '']),
        ),
      );
    } else this.log(table(['CONTAINER ID', 'PORT', 'HOST ADDRESS', 'FORWARD'], rows));
  }
}
