import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { findContainer, isRunning } from '../container/lookup.js';
import { formatHostPort } from '../network/port-mapping.js';
import { publishedPorts } from '../sandbox/containers.js';
import { readSettings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';

export default class Port extends DevboxCommand {
  static summary = "List a container's published ports, or the host address of one (docker port)";
  static aliases = ['container:port'];
  static examples = ['<%= config.bin %> port web', '<%= config.bin %> port web 80/tcp'];
  static args = {
    container: Args.string({ description: 'container name, id or unique id prefix', required: true }),
    port: Args.string({ description: 'PORT[/PROTOCOL]: only this one' }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(Port);
    const container = findContainer(readSettings().storageRoot, args.container);
    const [port, protocol = 'tcp'] = (args.port ?? '').split('/');
    const ports = publishedPorts(container.dir, isRunning(container), container.config.network.publish);
    const published = ports.filter((p) => !args.port || (String(p.containerPort) === port && p.protocol === protocol));
    if (args.port && !published.length) throw new DevboxError(`no public port '${args.port}' published for ${args.container}`);
    for (const p of published)
      this.log(args.port ? formatHostPort(p.hostIp, p.hostPort) : `${p.containerPort}/${p.protocol} -> ${formatHostPort(p.hostIp, p.hostPort)}`);
  }
}
