import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { findSandboxes, removeProjectSandboxes } from '../project/sandboxes.js';
import { removeContainers } from '../sandbox/container-lifecycle.js';

export default class Rm extends DevboxCommand {
  static summary = "Remove containers, or project sandboxes (the current project's by default)";
  static description = "A project sandbox's writable layer and private home go with it; the next devbox shell starts afresh.";
  static aliases = ['container:rm'];
  static strict = false;
  static examples = ['<%= config.bin %> rm', '<%= config.bin %> rm web', '<%= config.bin %> rm -f $(<%= config.bin %> ps -a -q)'];
  static args = { container: Args.string({ description: 'container name or id, project name, project folder or sandbox id (one or more)' }) };
  static flags = {
    force: Flags.boolean({ char: 'f', description: 'also remove running ones: they are killed first' }),
    volumes: Flags.boolean({ char: 'v', description: 'also remove its anonymous volumes' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Rm);
    const found = findSandboxes(argv as string[]);
    const sandboxes = found.flatMap((f) => (f.sandbox ? [f.sandbox] : []));
    for (const name of await removeProjectSandboxes(sandboxes, flags.force)) this.log(name);
    const containers = found.filter((f) => !f.sandbox).map((f) => f.ref);
    await removeContainers(containers, flags.force);
    for (const ref of containers) this.log(ref); // each as given, as docker rm prints them
  }
}
