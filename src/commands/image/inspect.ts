import { Args } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { helpFlags } from '../../cli/help-flags.js';
import { IMAGE_INSPECT_OPTION_DEFS, inspectMain } from '../../cli/inspect-main.js';

/** Help; bin/devbox runs `devbox image inspect` itself, through the same inspectMain. */
export default class ImageInspect extends DevboxCommand {
  static summary = 'Show images as JSON (id, names, config, layers), as docker image inspect does; -f picks fields with a Go template';
  static strict = false;
  static enableJsonFlag = true;
  static examples = ['<%= config.bin %> image inspect busybox', "<%= config.bin %> image inspect -f '{{.Id}} {{json .Config.Cmd}}' busybox"];
  static args = { image: Args.string({ description: 'image name or id (one or more)', required: true }) };
  static flags = helpFlags(IMAGE_INSPECT_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await inspectMain(this.argv, true);
  }
}
