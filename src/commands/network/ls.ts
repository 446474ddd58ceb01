import { DevboxCommand } from '../../cli/base-command.js';
import { oclifAliases } from '../../cli/entries.js';
import { helpFlags } from '../../cli/help-flags.js';
import { NETWORK_LS_OPTION_DEFS, networkLsMain } from '../../cli/network-ls-main.js';

/** Help and the alias; bin/devbox runs `devbox network ls` itself, through the same networkLsMain. */
export default class NetworkLs extends DevboxCommand {
  static summary = 'List networks';
  static aliases = oclifAliases('network:ls');
  static examples = [
    '<%= config.bin %> network ls',
    '<%= config.bin %> network ls -q --filter type=custom',
    '<%= config.bin %> network ls --format "{{.Name}} {{.Subnet}}"',
  ];
  static enableJsonFlag = true;
  static flags = helpFlags(NETWORK_LS_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await networkLsMain(this.argv);
  }
}
