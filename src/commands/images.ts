import { DevboxCommand } from '../cli/base-command.js';
import { oclifAliases } from '../cli/entries.js';
import { helpFlags } from '../cli/help-flags.js';
import { IMAGES_OPTION_DEFS, imagesMain } from '../cli/images-main.js';

/** Help and the aliases; bin/devbox runs `devbox images` itself, through the same imagesMain. */
export default class Images extends DevboxCommand {
  static summary = 'List images in the local store';
  static aliases = oclifAliases('images');
  static examples = ['<%= config.bin %> images', '<%= config.bin %> image ls -q', '<%= config.bin %> images --format json'];
  static enableJsonFlag = true;
  static flags = helpFlags(IMAGES_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await imagesMain(this.argv);
  }
}
