import { Args } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { servicesUp } from '../../compose/services.js';
import { projectWithServices } from '../../project/project-services.js';

export default class ServicesUp extends DevboxCommand {
  static summary = "Start the project's services (all, or those named and what they depend on), as docker compose up -d";
  static description =
    "Each runs as a devbox container on the project's network, reached by its name from the sandbox. One whose definition changed is made again; the others are kept.";
  static strict = false;
  static examples = ['<%= config.bin %> services up', '<%= config.bin %> services up db'];
  static args = { service: Args.string({ description: 'service name (one or more; default: every service)' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(ServicesUp);
    const { services } = projectWithServices();
    const names = argv as string[];
    for (const name of await servicesUp(services.group, names.length ? names : services.up)) this.log(name);
  }
}
