import { Args } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { ImageStore } from '../../image/store.js';

export default class ImageTag extends DevboxCommand {
  static summary = 'Give an image more names (docker tag)';
  static aliases = ['tag'];
  static strict = false;
  static examples = ['<%= config.bin %> tag busybox registry.example.com/tools/busybox:1', '<%= config.bin %> image tag 6c171fb756b3 app:dev app:latest'];
  static args = {
    image: Args.string({ description: 'image name or id', required: true }),
    target: Args.string({ description: 'new NAME[:TAG] (one or more)', required: true }),
  };

  async run(): Promise<void> {
    const { argv } = await this.parse(ImageTag);
    const [image, ...targets] = argv as string[];
    await ImageStore.open().tag(image, targets);
  }
}
