import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { findContainer, isRunning } from '../container/lookup.js';
import { containerProcesses } from '../container/processes.js';
import { readSettings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';
import { table } from '../util/format.js';

export default class Top extends DevboxCommand {
  static summary = "Show a running container's processes, read from /proc (docker top)";
  static aliases = ['container:top'];
  static examples = ['<%= config.bin %> top web'];
  static args = { container: Args.string({ description: 'container name, id or unique id prefix', required: true }) };

  async run(): Promise<void> {
    const { args } = await this.parse(Top);
    const container = findContainer(readSettings().storageRoot, args.container);
    if (!isRunning(container) || !container.state.pid) throw new DevboxError(`container ${args.container} is not running`);
    const rows = containerProcesses(container.state.pid).map((p) => [p.user, String(p.pid), String(p.ppid), p.stime, p.tty, p.time, p.command]);
    this.log(table(['UID', 'PID', 'PPID', 'STIME', 'TTY', 'TIME', 'CMD'], rows));
  }
}
