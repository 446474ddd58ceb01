import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { digestHex } from '../image/blobs.js';
import { ImageStore } from '../image/store.js';
import { pullImage } from '../registry/pull.js';

export default class Pull extends DevboxCommand {
  static summary = 'Pull an image from a registry into the local store';
  static description =
    'Every blob is checked against its digest before it is stored; layers already stored are not downloaded again. Prints the image id on stdout, progress on stderr.';
  static aliases = ['image:pull'];
  static examples = [
    '<%= config.bin %> pull debian:bookworm',
    '<%= config.bin %> pull --platform linux/arm64 alpine',
    '<%= config.bin %> pull localhost:5000/team/app@sha256:…',
  ];
  static args = { image: Args.string({ description: 'image reference: [REGISTRY/]NAME[:TAG|@DIGEST]', required: true }) };
  static flags = {
    platform: Flags.string({ description: "os/arch[/variant] to pull from a multi-platform image (default: the host's)" }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress output' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Pull);
    const image = await pullImage(ImageStore.open(), args.image, { platform: flags.platform, progress: flags.quiet ? 'quiet' : 'auto' });
    this.log(digestHex(image.id));
  }
}
