import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { copyFromContainer, copyToContainer, splitCpArg } from '../container-files/copy.js';
import { archiveTarget, containerUser, openContainer } from '../container-files/target.js';
import { DevboxError } from '../util/errors.js';

export default class Cp extends DevboxCommand {
  static summary = 'Copy files between a container and the host, as docker cp does (- streams a tar)';
  static description =
    "Paths inside the container are resolved inside its root: no symlink in it leads out. Files copied in belong to the container's root (-a: to its user); files copied out to you.";
  static aliases = ['container:cp'];
  static examples = [
    '<%= config.bin %> cp web:/etc/nginx/nginx.conf .',
    '<%= config.bin %> cp ./site/. web:/usr/share/nginx/html',
    '<%= config.bin %> cp web:/var/log - | tar t',
  ];
  static args = {
    source: Args.string({ description: 'CONTAINER:SRC_PATH, a host path, or - (a tar on stdin)', required: true }),
    destination: Args.string({ description: 'CONTAINER:DEST_PATH, a host path, or - (a tar on stdout)', required: true }),
  };
  static flags = {
    archive: Flags.boolean({ char: 'a', description: "files copied in belong to the container's user (its USER) instead of root" }),
    'follow-link': Flags.boolean({ char: 'L', description: 'follow a symlink that SRC_PATH names' }),
    quiet: Flags.boolean({ char: 'q', description: 'accepted for docker compatibility: devbox shows no progress' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Cp);
    const source = splitCpArg(args.source);
    const destination = splitCpArg(args.destination);
    if (!args.source || !args.destination) throw new DevboxError('source and destination cannot be empty', { kind: 'usage' });
    if (source.container !== undefined && destination.container !== undefined) {
      throw new DevboxError('copying between containers is not supported', { fix: 'copy to the host, then into the other container', kind: 'usage' });
    }
    const ref = source.container ?? destination.container;
    if (ref === undefined) throw new DevboxError('must specify at least one container source', { fix: 'CONTAINER:PATH on one side', kind: 'usage' });
    const container = await openContainer(ref);
    const options = { followLink: flags['follow-link'], archive: flags.archive };
    const target = { ref, target: await archiveTarget(container, true), user: containerUser(container) };
    if (source.container !== undefined) await copyFromContainer(target, source.path, destination.path, options, process.stdout);
    else await copyToContainer(target, source.path, destination.path, options, process.stdin);
  }
}
