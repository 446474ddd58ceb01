import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { removeContainers } from '../sandbox/remove-containers.js';

export default class Rm extends DevboxCommand {
  static summary = "Remove containers kept after they exited (their writable layer goes with them)";
  static strict = false;
  static examples = ['<%= config.bin %> rm 3f2a9c1b7d4e', '<%= config.bin %> rm $(<%= config.bin %> ps -a -q)'];
  static args = { container: Args.string({ description: 'container id or unique prefix (one or more)', required: true }) };
  static flags = { force: Flags.boolean({ char: 'f', description: 'also remove running containers (their files go; the process keeps running until it exits)' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Rm);
    for (const id of await removeContainers(argv as string[], flags.force)) this.log(id);
  }
}
