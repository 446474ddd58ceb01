import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { containerChanges } from '../container-files/diff.js';
import { openContainer } from '../container-files/target.js';

export default class Diff extends DevboxCommand {
  static summary = "List what changed in a container's file system, as docker diff does (A added, C changed, D deleted)";
  static aliases = ['container:diff'];
  static examples = ['<%= config.bin %> diff web'];
  static args = { container: Args.string({ description: 'container name or id', required: true }) };

  async run(): Promise<void> {
    const { args } = await this.parse(Diff);
    for (const change of await containerChanges(await openContainer(args.container))) this.log(`${change.kind} ${change.path}`);
  }
}
