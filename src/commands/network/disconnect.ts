import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { findContainer } from '../../container/lookup.js';
import { ImageStore } from '../../image/store.js';
import { requireNetwork } from '../../network/networks.js';
import { disconnectContainer } from '../../sandbox/network-connect.js';

export default class NetworkDisconnect extends DevboxCommand {
  static summary = 'Disconnect a container from a network: its link there is cut at once';
  static examples = ['<%= config.bin %> network disconnect backend web'];
  static args = {
    network: Args.string({ description: 'network name or id', required: true }),
    container: Args.string({ description: 'container name or id', required: true }),
  };
  static flags = { force: Flags.boolean({ char: 'f', description: 'accepted for Docker compatibility' }) };

  async run(): Promise<void> {
    const { args } = await this.parse(NetworkDisconnect);
    const root = ImageStore.open().root;
    const network = requireNetwork(root, args.network);
    await disconnectContainer(root, network, findContainer(root, args.container));
  }
}
