import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { findSandboxes, removeProjectSandboxes } from '../project/sandboxes.js';
import { removeContainers } from '../sandbox/remove-containers.js';

export default class Rm extends DevboxCommand {
  static summary = "Remove containers kept after they exited, or project sandboxes (the current project's by default)";
  static description = "A project sandbox's writable layer and private home go with it; the next devbox shell starts afresh.";
  static strict = false;
  static examples = ['<%= config.bin %> rm', '<%= config.bin %> rm 3f2a9c1b7d4e', '<%= config.bin %> rm $(<%= config.bin %> ps -a -q)'];
  static args = { container: Args.string({ description: 'container id or unique prefix, project name or folder (one or more)' }) };
  static flags = {
    force: Flags.boolean({ char: 'f', description: 'also remove running containers (their files go; the process keeps running until it exits)' }),
    volumes: Flags.boolean({ char: 'v', description: "also remove the anonymous volumes of the containers (-v /path, the image's VOLUME)" }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Rm);
    const found = findSandboxes(argv as string[]);
    const sandboxes = found.flatMap((f) => (f.sandbox ? [f.sandbox] : []));
    for (const name of await removeProjectSandboxes(sandboxes, flags.force)) this.log(name);
    const containers = found.filter((f) => !f.sandbox).map((f) => f.ref);
    if (containers.length) for (const id of await removeContainers(containers, flags.force, flags.volumes)) this.log(id);
  }
}
