import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { pushImage } from '../registry/push.js';
import { ImageStore } from '../image/store.js';

export default class Push extends DevboxCommand {
  static summary = 'Push an image from the local store to a registry';
  static description = 'Blobs the registry has are not sent again; prints "TAG: digest: DIGEST size: N" as docker push does.';
  static aliases = ['image:push'];
  static examples = ['<%= config.bin %> push registry.example.com/team/app:1', '<%= config.bin %> push app:dev localhost:5000/team/app:dev'];
  static args = {
    image: Args.string({ description: 'image name or id in the local store', required: true }),
    destination: Args.string({ description: 'REGISTRY/NAME[:TAG] to push to (default: the image name)' }),
  };
  static flags = { quiet: Flags.boolean({ char: 'q', description: 'no progress output' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Push);
    const pushed = await pushImage(ImageStore.open(), args.image, args.destination, { progress: flags.quiet ? 'quiet' : 'auto' });
    this.log(`${pushed.tag}: digest: ${pushed.digest} size: ${pushed.size}`);
  }
}
