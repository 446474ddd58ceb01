import { Args } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { ImageStore } from '../../image/store.js';

export default class ImageInspect extends DevboxCommand {
  static summary = 'Show images as JSON (id, names, config, layers), as podman image inspect does';
  static strict = false;
  static examples = ['<%= config.bin %> image inspect busybox'];
  static args = { image: Args.string({ description: 'image name or id (one or more)', required: true }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(ImageInspect);
    const store = ImageStore.open();
    const details = [];
    for (const ref of argv as string[]) details.push(await store.inspect(ref));
    this.log(JSON.stringify(details, null, 4));
  }
}
