import { Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { loadArchive } from '../../image/archive-load.js';
import { familiarName } from '../../image/reference.js';
import { ImageStore } from '../../image/store.js';

export default class ImageLoad extends DevboxCommand {
  static summary = 'Load images from a docker-archive or oci-archive tar (as podman/docker save or skopeo copy write them)';
  static aliases = ['load'];
  static examples = ['<%= config.bin %> image load -i busybox.tar'];
  static flags = { input: Flags.string({ char: 'i', description: 'archive to read', required: true }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(ImageLoad);
    for (const image of await loadArchive(ImageStore.open(), flags.input)) {
      this.log(`Loaded image: ${image.names.length ? image.names.map(familiarName).join(', ') : image.id}`);
    }
  }
}
