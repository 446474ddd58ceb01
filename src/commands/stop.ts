import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { oclifAliases } from '../cli/entries.js';
import { helpFlags } from '../cli/help-flags.js';
import { STOP_OPTION_DEFS, stopMain } from '../cli/lifecycle-main.js';

/** Help and the alias; bin/devbox runs `devbox stop` itself, through the same stopMain. */
export default class Stop extends DevboxCommand {
  static summary = "Stop containers, or project sandboxes (the current project's by default); their files stay until devbox rm";
  static description =
    'A container gets its stop signal (SIGTERM unless set otherwise), then SIGKILL after the timeout; one that is stopped already is left as it is.';
  static aliases = oclifAliases('stop');
  static strict = false;
  static examples = ['<%= config.bin %> stop', '<%= config.bin %> stop web', '<%= config.bin %> stop -t 2 web', '<%= config.bin %> stop myproject'];
  static args = { container: Args.string({ description: 'container name or id, project name, project folder or sandbox id (one or more)' }) };
  static flags = helpFlags(STOP_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await stopMain(this.argv);
  }
}
