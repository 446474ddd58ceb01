import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { renameContainer } from '../sandbox/container-lifecycle.js';

export default class Rename extends DevboxCommand {
  static summary = 'Rename a container (docker rename)';
  static aliases = ['container:rename'];
  static examples = ['<%= config.bin %> rename brave_otter web'];
  static args = {
    container: Args.string({ description: 'container name, id or unique id prefix', required: true }),
    name: Args.string({ description: 'its new name', required: true }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(Rename);
    renameContainer(args.container, args.name);
  }
}
