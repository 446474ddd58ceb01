import { DevboxCommand } from '../cli/base-command.js';
import { helpFlags } from '../cli/help-flags.js';
import { VERSION_OPTION_DEFS, versionMain } from '../cli/version-main.js';

/** Help; bin/devbox runs `devbox version` itself, through the same versionMain. */
export default class Version extends DevboxCommand {
  static summary = "Show devbox's version, the Node.js it runs on and its native helper (docker version)";
  static examples = ['<%= config.bin %> version', '<%= config.bin %> version --format "{{.Client.Version}}"', '<%= config.bin %> version --json'];
  static enableJsonFlag = true;
  static flags = helpFlags(VERSION_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await versionMain(this.argv);
  }
}
