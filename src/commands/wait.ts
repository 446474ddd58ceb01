import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { waitContainers } from '../sandbox/container-lifecycle.js';

export default class Wait extends DevboxCommand {
  static summary = 'Wait until containers stop, then print their exit codes (docker wait)';
  static aliases = ['container:wait'];
  static strict = false;
  static examples = ['<%= config.bin %> wait web'];
  static args = { container: Args.string({ description: 'container name, id or unique id prefix (one or more)', required: true }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(Wait);
    for (const code of await waitContainers(argv as string[])) this.log(String(code));
  }
}
