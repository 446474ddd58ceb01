import { Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { formatSize } from '../../util/format.js';
import { promptLine } from '../../cli/prompt.js';
import { pruneImages } from '../../image/prune.js';
import { familiarName } from '../../image/reference.js';
import { ImageStore } from '../../image/store.js';
import { imagesInUse } from '../../sandbox/images-in-use.js';

export default class ImagePrune extends DevboxCommand {
  static summary = 'Remove unused images, and every blob and layer nothing references';
  static description = 'Without --all only dangling images (those without a name) go; with --all every image no container was created from.';
  static examples = ['<%= config.bin %> image prune', '<%= config.bin %> image prune -af'];
  static flags = {
    all: Flags.boolean({ char: 'a', description: 'remove all images no container uses, not just dangling ones' }),
    force: Flags.boolean({ char: 'f', description: 'do not ask for confirmation' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ImagePrune);
    if (!flags.force && process.stdin.isTTY) {
      const what = flags.all ? 'all images without at least one container associated to them' : 'all dangling images';
      const answer = await promptLine(`WARNING! This will remove ${what}.\nAre you sure you want to continue? [y/N] `);
      if (!/^y(es)?$/i.test(answer)) return;
    }
    const store = ImageStore.open();
    const result = await pruneImages(store, { all: flags.all }, imagesInUse(store.root));
    if (result.deleted.length) {
      this.log('Deleted Images:');
      for (const name of result.untagged) this.log(`untagged: ${familiarName(name)}`);
      for (const id of result.deleted) this.log(`deleted: ${id}`);
      this.log('');
    }
    this.log(`Total reclaimed space: ${formatSize(result.reclaimed)}`);
  }
}
