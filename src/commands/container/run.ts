import { Args } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { helpFlags } from '../../cli/help-flags.js';
import { runMain } from '../../cli/run-main.js';
import { RUN_OPTION_DEFS } from '../../cli/run-options.js';

export default class ContainerRun extends DevboxCommand {
  static summary = 'Run a command in a new container from an image, as docker run does, in a project folder too';
  static description =
    "Options have docker run's meaning and come before IMAGE; everything after IMAGE is the command. " +
    "The image's ENTRYPOINT, CMD, ENV, WORKDIR and USER apply as in Docker.";
  static examples = [
    '<%= config.bin %> container run --rm busybox echo hello',
    '<%= config.bin %> container run --rm -it -v "$PWD:$PWD" -w "$PWD" debian:bookworm bash',
  ];
  static strict = false;
  static args = { image: Args.string({ description: 'image name, name:tag or id', required: true }) };
  static flags = helpFlags(RUN_OPTION_DEFS);

  async run(): Promise<void> {
    // The same entry as bin/devbox's `container run`: never the project's run, whatever folder this is.
    process.exitCode = await runMain(this.argv, false);
  }
}
