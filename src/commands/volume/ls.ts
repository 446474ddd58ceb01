import { DevboxCommand } from '../../cli/base-command.js';
import { oclifAliases } from '../../cli/entries.js';
import { helpFlags } from '../../cli/help-flags.js';
import { VOLUME_LS_OPTION_DEFS, volumeLsMain } from '../../cli/volume-ls-main.js';

/** Help and the alias; bin/devbox runs `devbox volume ls` itself, through the same volumeLsMain. */
export default class VolumeLs extends DevboxCommand {
  static summary = 'List volumes (docker volume ls)';
  static aliases = oclifAliases('volume:ls');
  static examples = [
    '<%= config.bin %> volume ls',
    '<%= config.bin %> volume ls -q --filter dangling=true',
    '<%= config.bin %> volume ls --format "{{.Name}}: {{.Labels}}"',
  ];
  static flags = helpFlags(VOLUME_LS_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await volumeLsMain(this.argv);
  }
}
