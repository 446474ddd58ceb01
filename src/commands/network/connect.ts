import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { findContainer } from '../../container/lookup.js';
import { ImageStore } from '../../image/store.js';
import { requireNetwork } from '../../network/networks.js';
import { connectContainer } from '../../sandbox/network-connect.js';

export default class NetworkConnect extends DevboxCommand {
  static summary = 'Connect a container to a network';
  static description =
    'A running container gets a link on the network at once (a new interface, eth1 and on); a stopped one joins it from its next start. A container may be on several devbox networks (docs/networking.md).';
  static examples = ['<%= config.bin %> network connect backend web', '<%= config.bin %> network connect --alias db backend postgres'];
  static args = {
    network: Args.string({ description: 'network name or id', required: true }),
    container: Args.string({ description: 'container name or id', required: true }),
  };
  static flags = { alias: Flags.string({ description: 'another name the container answers to on the network', multiple: true, multipleNonGreedy: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NetworkConnect);
    const root = ImageStore.open().root;
    const network = requireNetwork(root, args.network);
    await connectContainer(root, network, findContainer(root, args.container), flags.alias ?? []);
  }
}
