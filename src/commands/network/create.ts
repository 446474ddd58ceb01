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
    subnet: Flags.string({
      description: 'subnet in CIDR form, e.g. 10.90.0.0/24; with --ipv6 one of each family, e.g. fd00:1::/64',
      multiple: true,
      multipleNonGreedy: true,
    }),
    ipv6: Flags.boolean({ description: 'IPv6 addresses too, from --subnet or a unique local /64 (fdXX:…::/64)' }),
    gateway: Flags.string({ description: 'the gateway address in the subnet (default: its first address)' }),
    internal: Flags.boolean({ description: 'no outbound link: containers reach only each other' }),
    label: Flags.string({ description: 'KEY=VALUE metadata', multiple: true, multipleNonGreedy: true }),
    driver: Flags.string({ char: 'd', description: 'network driver (only bridge)', default: 'bridge' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NetworkCreate);
    if (flags.driver !== 'bridge') throw usageError(`unsupported network driver "${flags.driver}"`, 'devbox networks are bridges: leave --driver out');
    const subnets = flags.subnet ?? [];
    const [v6, v4] = [subnets.filter((s) => s.includes(':')), subnets.filter((s) => !s.includes(':'))];
    if (v4.length > 1 || v6.length > 1) throw usageError('--subnet is given twice for one address family', 'give one IPv4 and, with --ipv6, one IPv6 subnet');
    const store = ImageStore.open();
    const network = await createNetwork(store.root, {
      name: args.name,
      subnet: v4[0],
      subnet6: v6[0],
      ipv6: flags.ipv6 === true,
      gateway: flags.gateway,
      internal: flags.internal === true,
      labels: parseLabels(flags.label ?? []),
    });
    this.log(network.id);
  }
}
