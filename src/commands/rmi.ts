import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { removeImages } from '../image/remove.js';
import { ImageStore } from '../image/store.js';
import { imagesInUse } from '../sandbox/images-in-use.js';

export default class Rmi extends DevboxCommand {
  static summary = "Remove images: a name untags, an id (or an image's last name) removes the image";
  static description = 'Blobs and unpacked layers no image uses any more are deleted too. An image a running container uses is kept unless --force.';
  static aliases = ['image:rm'];
  static strict = false;
  static examples = ['<%= config.bin %> rmi busybox', '<%= config.bin %> image rm -f 6c171fb756b3'];
  static args = { image: Args.string({ description: 'image name or id (one or more)', required: true }) };
  static flags = { force: Flags.boolean({ char: 'f', description: 'remove an image with several names by id, or one a running container uses' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Rmi);
    const store = ImageStore.open();
    for (const line of await removeImages(store, argv as string[], flags.force, imagesInUse(store.root).running)) this.log(line);
  }
}
