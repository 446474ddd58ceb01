import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { parseTail, printLogs } from '../../container/logs.js';
import { SERVICE_LABEL, serviceContainers } from '../../compose/services.js';
import { projectWithServices } from '../../project/project-services.js';
import { readSettings } from '../../settings/settings.js';
import { DevboxError, usageError } from '../../util/errors.js';

export default class ServicesLogs extends DevboxCommand {
  static summary = "Show the output of the project's services (one, or all with each line's service in front), as docker compose logs";
  static examples = ['<%= config.bin %> services logs', '<%= config.bin %> services logs -f db'];
  static args = { service: Args.string({ description: 'service name (default: every service)' }) };
  static flags = {
    follow: Flags.boolean({ char: 'f', description: 'keep printing new output until the services stop' }),
    tail: Flags.string({ char: 'n', description: 'only this many lines from the end of each ("all" for every line)' }),
    timestamps: Flags.boolean({ char: 't', description: 'show the time of each line' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ServicesLogs);
    const tail = parseTail(flags.tail);
    const { project, services } = projectWithServices();
    if (args.service !== undefined && !services.group.services.some((s) => s.name === args.service))
      throw usageError(`no service "${args.service}" in ${services.group.file}`, `name one of: ${services.group.services.map((s) => s.name).join(', ')}`);
    const containers = serviceContainers(readSettings().storageRoot, { project: project.root }).filter(
      (c) => args.service === undefined || c.config.labels[SERVICE_LABEL] === args.service,
    );
    if (args.service !== undefined && !containers.length)
      throw new DevboxError(`service ${args.service} has no container yet`, { fix: `devbox services up ${args.service}` });
    const width = Math.max(0, ...containers.map((c) => c.config.name.length));
    await Promise.all(
      containers.map((c) =>
        printLogs(c, {
          follow: flags.follow,
          tail,
          timestamps: flags.timestamps,
          ...(args.service === undefined ? { prefix: `${c.config.name.padEnd(width)}  | ` } : {}),
        }),
      ),
    );
  }
}
