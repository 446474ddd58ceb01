import { DevboxCommand } from '../cli/base-command.js';
import { oclifAliases } from '../cli/entries.js';
import { helpFlags } from '../cli/help-flags.js';
import { INFO_OPTION_DEFS, infoMain } from '../cli/info-main.js';

/** Help and the alias; bin/devbox runs `devbox info` itself, through the same infoMain. */
export default class Info extends DevboxCommand {
  static summary = 'Show the store, storage driver, id maps, network and cgroup support of this machine (docker info)';
  static aliases = oclifAliases('info');
  static examples = ['<%= config.bin %> info', '<%= config.bin %> info --format "{{.Driver}}"', '<%= config.bin %> info --json'];
  static enableJsonFlag = true;
  static flags = helpFlags(INFO_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await infoMain(this.argv);
  }
}
