import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { stopProjectSandboxes } from '../project/sandboxes.js';

export default class Stop extends DevboxCommand {
  static summary = "Stop project sandboxes (the current project's by default); their files stay until devbox rm";
  static strict = false;
  static examples = ['<%= config.bin %> stop', '<%= config.bin %> stop myproject'];
  static args = { sandbox: Args.string({ description: 'project name, project folder or sandbox id (one or more)' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(Stop);
    for (const name of await stopProjectSandboxes(argv as string[])) this.log(name);
  }
}
