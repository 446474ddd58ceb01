import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { startContainers } from '../sandbox/container-lifecycle.js';

export default class Start extends DevboxCommand {
  static summary = 'Start stopped or created containers (docker start); -a stays attached to its output';
  static aliases = ['container:start'];
  static strict = false;
  static examples = ['<%= config.bin %> start web', '<%= config.bin %> start -ai box'];
  static args = { container: Args.string({ description: 'container name, id or unique id prefix (one or more)', required: true }) };
  static flags = {
    attach: Flags.boolean({ char: 'a', description: 'attach to its output (and stay until it exits, with its status)' }),
    interactive: Flags.boolean({ char: 'i', description: 'attach its stdin' }),
    'detach-keys': Flags.string({ description: 'keys that detach from it (default ctrl-p,ctrl-q)' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Start);
    const refs = argv as string[];
    const outcome = await startContainers(refs, { attach: flags.attach, interactive: flags.interactive, detachKeys: flags['detach-keys'] });
    if (outcome && 'exited' in outcome) process.exitCode = outcome.exited;
    else if (!flags.attach) for (const ref of refs) this.log(ref);
  }
}
