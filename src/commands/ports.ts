import { basename } from 'node:path';
import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { findContainer, isRunning, listContainers, noSuchContainer } from '../container/lookup.js';
import { formatHostPort } from '../network/port-mapping.js';
import { readPorts } from '../sandbox/containers.js';
import { listSandboxes } from '../sandbox/live-state.js';
import { readSettings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';
import { table } from '../util/format.js';

interface Forwarded {
  id: string;
  dir: string;
  running: boolean;
}

export default class Ports extends DevboxCommand {
  static summary = 'List the ports forwarded to running containers and project sandboxes: published (-p, "ports") and auto-forwarded';
  static examples = ['<%= config.bin %> ports', '<%= config.bin %> ports 3f2a'];
  static enableJsonFlag = true;
  static args = { container: Args.string({ description: 'container name, id or unique id prefix, or sandbox id (default: every running one)' }) };

  async run(): Promise<object[]> {
    const { args } = await this.parse(Ports);
    const root = readSettings().storageRoot;
    // A project sandbox's id is its directory's name, as `devbox ps` shows it.
    const sandboxes: Forwarded[] = listSandboxes(root).map((s) => ({ id: basename(s.dir), dir: s.dir, running: s.running }));
    let targets: Forwarded[];
    if (args.container) {
      const ref = args.container;
      const sandbox = sandboxes.filter((s) => s.id.startsWith(ref));
      if (sandbox.length === 1) targets = sandbox;
      else if (sandbox.length > 1) throw noSuchContainer(ref);
      else {
        const c = findContainer(root, ref);
        targets = [{ id: c.id, dir: c.dir, running: isRunning(c) }];
      }
    } else {
      targets = [...sandboxes, ...listContainers(root).map((c) => ({ id: c.id, dir: c.dir, running: isRunning(c) }))].filter((c) => c.running);
    }
    const stopped = targets.find((c) => !c.running);
    if (stopped) throw new DevboxError(`container ${stopped.id.slice(0, 12)} is not running`, { fix: 'forwards end with the container' });
    const forwards = targets.flatMap((c) =>
      readPorts(c.dir).map((f) => ({
        container: c.id,
        containerPort: f.containerPort,
        protocol: f.protocol,
        hostIp: f.hostIp,
        hostPort: f.hostPort,
        forward: f.origin === 'publish' ? 'published' : 'auto',
        ...(f.label ? { label: f.label } : {}),
      })),
    );
    const rows = forwards.map((f) => [f.container.slice(0, 12), `${f.containerPort}/${f.protocol}`, formatHostPort(f.hostIp, f.hostPort), f.forward]);
    // A project's devcontainer.json may name its ports (portsAttributes): then they are shown.
    if (forwards.some((f) => f.label)) {
      this.log(
        table(
          ['CONTAINER ID', 'PORT', 'HOST ADDRESS', 'FORWARD', 'LABEL'],
          rows.map((row, i) => [...row, forwards[i].label ?? '']),
        ),
      );
    } else this.log(table(['CONTAINER ID', 'PORT', 'HOST ADDRESS', 'FORWARD'], rows));
    return forwards;
  }
}
