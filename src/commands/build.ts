import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { helpFlags } from '../cli/help-flags.js';
import { buildMain } from '../cli/build-main.js';
import { BUILD_OPTION_DEFS } from '../cli/build-options.js';

export default class Build extends DevboxCommand {
  static summary = 'Build an image from a Dockerfile';
  static description =
    "Rootless and daemonless, with docker build's options and Dockerfile semantics: every RUN runs in a sandbox on " +
    'the image built so far, every step is cached, and the result is an OCI image in the local store. ' +
    'Progress goes to stderr, the image id to stdout. See docs/building.md.';
  static examples = [
    '<%= config.bin %> build -t app .',
    '<%= config.bin %> build -f docker/Dockerfile.dev --build-arg NODE_VERSION=20 --target dev -t app:dev .',
  ];
  static strict = false;
  static args = { context: Args.string({ description: 'the build context directory', required: true }) };
  static flags = helpFlags(BUILD_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await buildMain(this.argv);
  }
}
