import { Args } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { ImageStore } from '../../image/store.js';

export default class ImageInspect extends DevboxCommand {
  static summary = 'Show images as JSON (id, names, config, layers), as podman image inspect does';
  static strict = false;
  static enableJsonFlag = true;
  static examples = ['<%= config.bin %> image inspect busybox'];
  static args = { image: Args.string({ description: 'image name or id (one or more)', required: true }) };

  async run(): Promise<object[]> {
    const { argv } = await this.parse(ImageInspect);
    const store = ImageStore.open();
    const details = [];
    for (const ref of argv as string[]) details.push(await store.inspect(ref));
    // JSON either way; --json is accepted as on every command that lists or inspects.
    this.log(JSON.stringify(details, null, 4));
    return details;
  }
}
