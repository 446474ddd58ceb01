import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { killContainers } from '../sandbox/container-lifecycle.js';

export default class Kill extends DevboxCommand {
  static summary = 'Send a signal (SIGKILL by default) to running containers (docker kill)';
  static description = "A fatal signal (KILL, TERM, INT, QUIT or the container's stop signal) also sets its restart policy aside.";
  static aliases = ['container:kill'];
  static strict = false;
  static examples = ['<%= config.bin %> kill web', '<%= config.bin %> kill -s HUP web'];
  static args = { container: Args.string({ description: 'container name, id or unique id prefix (one or more)', required: true }) };
  static flags = { signal: Flags.string({ char: 's', description: 'signal to send: a name (KILL, SIGHUP) or a number', default: 'KILL' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Kill);
    await killContainers(argv as string[], flags.signal);
    for (const ref of argv as string[]) this.log(ref);
  }
}
