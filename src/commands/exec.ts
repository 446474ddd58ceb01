import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { oclifAliases } from '../cli/entries.js';
import { execMain } from '../cli/exec-main.js';

export default class Exec extends DevboxCommand {
  static summary = 'Run a command in a running container (docker exec)';
  static description = "It runs with the container's environment, user and working directory unless -e, -u and -w say otherwise.";
  static aliases = oclifAliases('exec');
  static strict = false;
  static examples = ['<%= config.bin %> exec web ls /', '<%= config.bin %> exec -it web sh', '<%= config.bin %> exec -u 0 -e DEBUG=1 web env'];
  static args = { container: Args.string({ description: 'container name, id or unique id prefix', required: true }) };
  static flags = {
    interactive: Flags.boolean({ char: 'i', description: 'keep stdin open' }),
    tty: Flags.boolean({ char: 't', description: 'allocate a pseudo-terminal' }),
    detach: Flags.boolean({ char: 'd', description: 'run it in the background' }),
    user: Flags.string({ char: 'u', description: 'user name or uid (and group) to run as' }),
    workdir: Flags.string({ char: 'w', description: 'working directory inside the container' }),
    env: Flags.string({ char: 'e', description: 'set an environment variable (KEY alone: the host value)', multiple: true }),
    'env-file': Flags.string({ description: 'read environment variables from a file', multiple: true }),
  };

  async run(): Promise<void> {
    process.exitCode = await execMain(this.argv);
  }
}
