import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { ImageStore } from '../../image/store.js';
import { createNetwork } from '../../network/networks.js';
import { parseLabels } from '../../container/options.js';
import { usageError } from '../../util/errors.js';

export default class NetworkCreate extends DevboxCommand {
  static summary = 'Create a network containers can join by name (docs/networking.md)';
  static description = 'Containers on one network reach each other by name and alias. Without --subnet the network gets the next free /24 of 10.89.0.0/16.';
  static examples = ['<%= config.bin %> network create backend', '<%= config.bin %> network create --subnet 10.90.0.0/24 --internal db-only'];
  static args = { name: Args.string({ description: 'network name', required: true }) };
  static flags = {
    subnet: Flags.string({ description: 'IPv4 subnet in CIDR form, e.g. 10.90.0.0/24' }),
    gateway: Flags.string({ description: 'the gateway address in the subnet (default: its first address)' }),
    internal: Flags.boolean({ description: 'no outbound link: containers reach only each other' }),
    label: Flags.string({ description: 'KEY=VALUE metadata', multiple: true, multipleNonGreedy: true }),
    driver: Flags.string({ char: 'd', description: 'network driver (only bridge)', default: 'bridge' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NetworkCreate);
    if (flags.driver !== 'bridge') throw usageError(`unsupported network driver "${flags.driver}"`, 'devbox networks are bridges: leave --driver out');
    const store = ImageStore.open();
    const network = await createNetwork(store.root, {
      name: args.name,
      subnet: flags.subnet,
      gateway: flags.gateway,
      internal: flags.internal === true,
      labels: parseLabels(flags.label ?? []),
    });
    this.log(network.id);
  }
}
