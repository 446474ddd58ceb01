import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { importRootfs } from '../../image/import.js';
import { ImageStore } from '../../image/store.js';

export default class ImageImport extends DevboxCommand {
  static summary = 'Create an image from a root file system tar (plain or gzip), like docker import';
  static examples = ['<%= config.bin %> image import rootfs.tar myimage', '<%= config.bin %> image import rootfs.tar.gz registry.local/team/base:1'];
  static args = {
    file: Args.string({ description: 'root file system tar', required: true }),
    name: Args.string({ description: 'NAME[:TAG] for the image', required: true }),
  };
  static flags = { message: Flags.string({ char: 'm', description: 'comment for the image history' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImageImport);
    const image = await importRootfs(ImageStore.open(), args.file, args.name, { message: flags.message });
    this.log(image.id);
  }
}
