import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { saveArchive, type ArchiveFormat } from '../../image/archive-save.js';
import { ImageStore } from '../../image/store.js';

export default class ImageSave extends DevboxCommand {
  static summary = 'Save images to a docker-archive or oci-archive tar that podman load and docker load read';
  static aliases = ['save'];
  static strict = false;
  static examples = ['<%= config.bin %> image save -o busybox.tar busybox', '<%= config.bin %> image save --format oci-archive -o app.tar app:1'];
  static args = { image: Args.string({ description: 'image name or id (one or more)', required: true }) };
  static flags = {
    output: Flags.string({ char: 'o', description: 'file to write (default: stdout, which must not be a terminal)' }),
    format: Flags.string({ description: 'archive format', options: ['docker-archive', 'oci-archive'], default: 'docker-archive' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ImageSave);
    await saveArchive(ImageStore.open(), argv as string[], flags.output ?? process.stdout, flags.format as ArchiveFormat);
  }
}
