import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { restartContainers } from '../sandbox/container-restart.js';

export default class Restart extends DevboxCommand {
  static summary = 'Stop and start containers again (docker restart)';
  static aliases = ['container:restart'];
  static strict = false;
  static examples = ['<%= config.bin %> restart web'];
  static args = { container: Args.string({ description: 'container name, id or unique id prefix (one or more)', required: true }) };
  static flags = { time: Flags.integer({ char: 't', description: 'seconds to wait for it to stop before killing it' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Restart);
    await restartContainers(argv as string[], flags.time);
    for (const ref of argv as string[]) this.log(ref);
  }
}
