import { Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { projectMain } from '../cli/project-main.js';

/** Help text only: bin/devbox runs `devbox shell` through src/cli/project-main.ts without oclif. */
export default class Shell extends DevboxCommand {
  static summary = "Open a shell in the project's sandbox, as you, in the folder you are in";
  static description =
    'The first devbox shell or devbox run of a project builds or pulls its environment when its inputs changed ' +
    'and starts its sandbox; later ones, from any terminal, join the same sandbox. devbox stop ends it.';
  static examples = ['<%= config.bin %> shell', '<%= config.bin %> shell -u root'];
  static flags = {
    tty: Flags.boolean({ char: 't', description: 'allocate a terminal even when stdin is not one' }),
    user: Flags.string({ char: 'u', description: 'root: a root shell inside the sandbox (root of its user namespace only)', options: ['root'] }),
  };

  async run(): Promise<void> {
    process.exitCode = await projectMain(this.argv, 'shell');
  }
}
