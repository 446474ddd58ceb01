import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { commitContainer } from '../container-files/commit.js';
import { openContainer } from '../container-files/target.js';

export default class Commit extends DevboxCommand {
  static summary = "Create an image from a container's changes, as docker commit does";
  static description =
    "The writable layer becomes a layer on top of the container's image; -c applies Dockerfile instructions to the configuration (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR). devbox cannot pause a rootless container without a delegated cgroup: --pause is accepted and the container keeps running while its layer is read.";
  static aliases = ['container:commit'];
  static examples = [
    '<%= config.bin %> commit web web:patched',
    '<%= config.bin %> commit -m "add curl" -a "Ana <ana@example.com>" -c "CMD [\\"nginx\\"]" web',
  ];
  static args = {
    container: Args.string({ description: 'container name or id', required: true }),
    repository: Args.string({ description: 'REPOSITORY[:TAG] for the image (none: an image without a name)' }),
  };
  static flags = {
    author: Flags.string({ char: 'a', description: 'author of the image ("Name <email>")' }),
    change: Flags.string({ char: 'c', description: 'apply a Dockerfile instruction to the image (repeatable)', multiple: true, multipleNonGreedy: true }),
    message: Flags.string({ char: 'm', description: "commit message (the history entry's comment)" }),
    pause: Flags.boolean({ char: 'p', description: 'pause the container while committing (accepted; see above)', default: true, allowNo: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Commit);
    const id = await commitContainer(await openContainer(args.container), {
      name: args.repository,
      message: flags.message,
      author: flags.author,
      changes: flags.change ?? [],
    });
    this.log(id);
  }
}
