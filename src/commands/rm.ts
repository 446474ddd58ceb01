import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { oclifAliases } from '../cli/entries.js';
import { helpFlags } from '../cli/help-flags.js';
import { RM_OPTION_DEFS, rmMain } from '../cli/lifecycle-main.js';

/** Help and the alias; bin/devbox runs `devbox rm` itself, through the same rmMain. */
export default class Rm extends DevboxCommand {
  static summary = "Remove containers, or project sandboxes (the current project's by default)";
  static description = "A project sandbox's writable layer and private home go with it; the next devbox shell starts afresh.";
  static aliases = oclifAliases('rm');
  static strict = false;
  static examples = ['<%= config.bin %> rm', '<%= config.bin %> rm web', '<%= config.bin %> rm -f $(<%= config.bin %> ps -a -q)'];
  static args = { container: Args.string({ description: 'container name or id, project name, project folder or sandbox id (one or more)' }) };
  static flags = helpFlags(RM_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await rmMain(this.argv);
  }
}
