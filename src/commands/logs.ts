import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { oclifAliases } from '../cli/entries.js';
import { helpFlags } from '../cli/help-flags.js';
import { LOGS_OPTION_DEFS, logsMain } from '../cli/logs-main.js';

/** Help and the alias; bin/devbox runs `devbox logs` itself, through the same logsMain. */
export default class Logs extends DevboxCommand {
  static summary = "Show a container's output, as its supervisor recorded it (docker logs)";
  static aliases = oclifAliases('logs');
  static examples = ['<%= config.bin %> logs web', '<%= config.bin %> logs -f --tail 10 -t web', '<%= config.bin %> logs --since 10m web'];
  static args = { container: Args.string({ description: 'container name, id or unique id prefix', required: true }) };
  static flags = helpFlags(LOGS_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await logsMain(this.argv);
  }
}
