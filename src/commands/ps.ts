import { DevboxCommand } from '../cli/base-command.js';
import { oclifAliases } from '../cli/entries.js';
import { helpFlags } from '../cli/help-flags.js';
import { PS_OPTION_DEFS, psMain } from '../cli/ps-main.js';

/** Help and the aliases; bin/devbox runs `devbox ps` itself, through the same psMain. */
export default class Ps extends DevboxCommand {
  static summary = 'List containers and project sandboxes (running ones; with -a also stopped ones)';
  static aliases = oclifAliases('ps');
  static examples = [
    '<%= config.bin %> ps',
    '<%= config.bin %> ps -a -q',
    '<%= config.bin %> ps --filter status=exited --format "{{.Names}}: {{.Status}}"',
    '<%= config.bin %> ps --format "table {{.ID}}\\t{{.Names}}"',
  ];
  static enableJsonFlag = true;
  static flags = helpFlags(PS_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await psMain(this.argv);
  }
}
