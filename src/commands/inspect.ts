import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { oclifAliases } from '../cli/entries.js';
import { helpFlags } from '../cli/help-flags.js';
import { INSPECT_OPTION_DEFS, inspectMain } from '../cli/inspect-main.js';

/** Help and the aliases; bin/devbox runs `devbox inspect` itself, through the same inspectMain. */
export default class Inspect extends DevboxCommand {
  static summary = "Show containers (or images) as JSON, in docker inspect's shape; -f picks fields with a Go template";
  static aliases = oclifAliases('inspect');
  static strict = false;
  static examples = ['<%= config.bin %> inspect web', "<%= config.bin %> inspect -f '{{.State.Status}} {{.State.ExitCode}}' web"];
  static args = { name: Args.string({ description: 'container or image: name or id (one or more)', required: true }) };
  static flags = helpFlags(INSPECT_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await inspectMain(this.argv);
  }
}
