import { DevboxCommand } from '../../cli/base-command.js';
import { projectWithServices, takeDownServices } from '../../project/project-services.js';

export default class ServicesDown extends DevboxCommand {
  static summary = "Remove the project's service containers and their network, as docker compose down (named volumes stay)";
  static examples = ['<%= config.bin %> services down'];

  async run(): Promise<void> {
    await this.parse(ServicesDown);
    const { project } = projectWithServices();
    for (const name of await takeDownServices(project)) this.log(name);
  }
}
