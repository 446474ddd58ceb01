import { Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { statusText } from '../../cli/container-views.js';
import { SERVICE_LABEL, serviceContainers } from '../../compose/services.js';
import { projectWithServices } from '../../project/project-services.js';
import { readSettings } from '../../settings/settings.js';
import { table } from '../../util/format.js';

export default class ServicesLs extends DevboxCommand {
  static summary = "List the project's service containers, as docker compose ps -a";
  static aliases = ['services:ps'];
  static examples = ['<%= config.bin %> services ls', '<%= config.bin %> services ls -q'];
  static flags = {
    quiet: Flags.boolean({ char: 'q', description: 'only the container names' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ServicesLs);
    const { project } = projectWithServices();
    const containers = serviceContainers(readSettings().storageRoot, { project: project.root }).sort((a, b) =>
      a.config.name < b.config.name ? -1 : a.config.name > b.config.name ? 1 : 0,
    );
    if (flags.quiet) {
      for (const c of containers) this.log(c.config.name);
      return;
    }
    const rows = containers.map((c) => [c.config.name, c.config.imageName, c.config.labels[SERVICE_LABEL] ?? '', statusText(c)]);
    this.log(table(['NAME', 'IMAGE', 'SERVICE', 'STATUS'], rows));
  }
}
