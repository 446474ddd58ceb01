import { Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { familiarName } from '../../image/reference.js';
import { loadArchive } from '../../image/archive-load.js';
import { ImageStore } from '../../image/store.js';
import { DevboxError } from '../../util/errors.js';

export default class ImageLoad extends DevboxCommand {
  static summary = 'Load images from a docker-archive or oci-archive tar (as docker save, podman save or skopeo write them)';
  static aliases = ['load'];
  static examples = ['<%= config.bin %> image load -i busybox.tar', 'podman save busybox | <%= config.bin %> image load'];
  static flags = { input: Flags.string({ char: 'i', description: 'archive to read (default: stdin)' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(ImageLoad);
    if (!flags.input && process.stdin.isTTY) throw new DevboxError('no archive to load', { fix: 'use -i FILE or pipe an archive into stdin' });
    for (const image of await loadArchive(ImageStore.open(), flags.input ?? '-')) {
      if (!image.loadedNames.length) this.log(`Loaded image ID: ${image.id}`);
      for (const name of image.loadedNames) this.log(`Loaded image: ${familiarName(name)}`);
    }
  }
}
