import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { helpFlags } from '../cli/help-flags.js';
import { RUN_OPTION_DEFS, parseRunArgs } from '../cli/run-options.js';
import { ImageStore } from '../image/store.js';
import { createContainer } from '../sandbox/container-create.js';
import { readSettings } from '../settings/settings.js';

export default class Create extends DevboxCommand {
  static summary = 'Create a container from an image without starting it (docker create); devbox start runs it';
  static aliases = ['container:create'];
  static examples = ['<%= config.bin %> create --name web -p 8080:80 busybox httpd -f -p 80', '<%= config.bin %> start web'];
  static strict = false;
  static args = { image: Args.string({ description: 'image name, name:tag or id', required: true }) };
  static flags = helpFlags(RUN_OPTION_DEFS.filter((d) => d.name !== 'detach' && d.name !== 'detach-keys'));

  async run(): Promise<void> {
    const options = parseRunArgs(this.argv);
    const settings = readSettings();
    const { record } = await createContainer(ImageStore.open(settings.storageRoot), settings, options);
    this.log(record.id);
  }
}
