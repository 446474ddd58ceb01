import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { helpFlags } from '../cli/help-flags.js';
import { RUN_OPTION_DEFS } from '../cli/run-options.js';
import { runMain } from '../cli/run-main.js';

export default class Run extends DevboxCommand {
  static summary = "Run a command in the project's sandbox, or (outside a project) in a new container from an image";
  static description =
    'Inside a project (devbox.json or .devcontainer/devcontainer.json here or in a folder above): devbox run ' +
    "[-t] [-u root] CMD [ARG...] runs CMD in the project's sandbox, as you, in the folder you are in; the " +
    'exit status, stdin, stdout and stderr are passed through. Elsewhere, and as devbox container run anywhere: ' +
    "options have docker run's meaning and come before IMAGE; everything after IMAGE is the command. " +
    "The image's ENTRYPOINT, CMD, ENV, WORKDIR and USER apply as in Docker.";
  static examples = [
    '<%= config.bin %> run npm test',
    '<%= config.bin %> container run --rm busybox echo hello',
    '<%= config.bin %> run --rm -it -v "$PWD:$PWD" -w "$PWD" debian:bookworm bash',
    '<%= config.bin %> run --rm --storage fuse -u 1000:1000 busybox id',
  ];
  static strict = false;
  static args = { image: Args.string({ description: 'image name, name:tag or id', required: true }) };
  static flags = helpFlags(RUN_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await runMain(this.argv);
  }
}
