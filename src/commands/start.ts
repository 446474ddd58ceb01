import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { oclifAliases } from '../cli/entries.js';
import { helpFlags } from '../cli/help-flags.js';
import { START_OPTION_DEFS, startMain } from '../cli/start-main.js';

/** Help and the alias; bin/devbox runs `devbox start` itself, through the same startMain. */
export default class Start extends DevboxCommand {
  static summary = 'Start stopped or created containers (docker start); -a stays attached to its output';
  static aliases = oclifAliases('start');
  static strict = false;
  static examples = ['<%= config.bin %> start web', '<%= config.bin %> start -ai box'];
  static args = { container: Args.string({ description: 'container name, id or unique id prefix (one or more)', required: true }) };
  static flags = helpFlags(START_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await startMain(this.argv);
  }
}
