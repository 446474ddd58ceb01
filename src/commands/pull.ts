import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { oclifAliases } from '../cli/entries.js';
import { helpFlags } from '../cli/help-flags.js';
import { PULL_OPTION_DEFS, pullMain } from '../cli/pull-main.js';

/** Help and the alias; bin/devbox runs `devbox pull` itself, through the same pullMain. */
export default class Pull extends DevboxCommand {
  static summary = 'Pull an image from a registry into the local store';
  static description =
    'Every blob is checked against its digest before it is stored; layers already stored are not downloaded again. Prints the image id on stdout, progress on stderr.';
  static aliases = oclifAliases('pull');
  static examples = [
    '<%= config.bin %> pull debian:bookworm',
    '<%= config.bin %> pull --platform linux/arm64 alpine',
    '<%= config.bin %> pull localhost:5000/team/app@sha256:…',
  ];
  static args = { image: Args.string({ description: 'image reference: [REGISTRY/]NAME[:TAG|@DIGEST]', required: true }) };
  static flags = helpFlags(PULL_OPTION_DEFS);

  async run(): Promise<void> {
    process.exitCode = await pullMain(this.argv);
  }
}
