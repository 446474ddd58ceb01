import { Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { promptLine } from '../../cli/prompt.js';
import { ImageStore } from '../../image/store.js';
import { deleteNetworkRecord, isPredefined, listNetworks, withNetworksLock } from '../../network/networks.js';
import { networkUsers } from '../../sandbox/networks-in-use.js';

export default class NetworkPrune extends DevboxCommand {
  static summary = 'Remove every network no container uses';
  static examples = ['<%= config.bin %> network prune', '<%= config.bin %> network prune -f'];
  static flags = {
    force: Flags.boolean({ char: 'f', description: 'do not ask for confirmation' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(NetworkPrune);
    if (!flags.force && process.stdin.isTTY) {
      const answer = await promptLine(
        'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ',
      );
      if (!/^y(es)?$/i.test(answer)) return;
    }
    const root = ImageStore.open().root;
    const removed = await withNetworksLock(root, async () => {
      const users = networkUsers(root);
      const unused = listNetworks(root).filter((n) => !isPredefined(n) && !users.get(n.name)?.length);
      for (const network of unused) deleteNetworkRecord(root, network);
      return unused;
    });
    if (!removed.length) return;
    this.log('Deleted Networks:');
    for (const network of removed) this.log(network.name);
  }
}
