import { Flags } from '@oclif/core';
import { relative } from 'node:path';
import { DevboxCommand } from '../cli/base-command.js';
import { table } from '../util/format.js';
import { DEFAULT_TEMPLATE, initProject, listTemplates } from '../project/templates.js';

export default class Init extends DevboxCommand {
  static summary = 'Start a project here: write devbox.json and .devbox/Dockerfile from a template';
  static examples = ['<%= config.bin %> init', '<%= config.bin %> init --template node', '<%= config.bin %> init --list'];
  static flags = {
    template: Flags.string({ char: 't', description: `template to start from (default ${DEFAULT_TEMPLATE}; --list shows them)` }),
    list: Flags.boolean({ char: 'l', description: 'list the templates and exit', exclusive: ['template', 'force'] }),
    force: Flags.boolean({ char: 'f', description: 'overwrite an existing devbox.json and .devbox/Dockerfile' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Init);
    if (flags.list) {
      this.log(
        table(
          ['TEMPLATE', 'DESCRIPTION'],
          listTemplates().map((t) => [t.name, t.description]),
        ),
      );
      return;
    }
    const cwd = process.cwd();
    for (const path of await initProject(cwd, { template: flags.template, force: flags.force })) this.log(`wrote ${relative(cwd, path)}`);
    this.log('Edit .devbox/Dockerfile for your tools, then run: devbox shell');
  }
}
