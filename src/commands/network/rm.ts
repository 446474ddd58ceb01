import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { ImageStore } from '../../image/store.js';
import { deleteNetworkRecord, findNetwork, withNetworksLock } from '../../network/networks.js';
import { networkUsers } from '../../sandbox/networks-in-use.js';
import { reportError } from '../../cli/report.js';
import { DevboxError } from '../../util/errors.js';

export default class NetworkRm extends DevboxCommand {
  static summary = 'Remove networks no container uses';
  static aliases = ['network:remove'];
  static strict = false;
  static examples = ['<%= config.bin %> network rm backend', '<%= config.bin %> network rm -f maybe-gone'];
  static args = { name: Args.string({ description: 'network: name or id (one or more)', required: true }) };
  static flags = {
    force: Flags.boolean({ char: 'f', description: 'do not fail when a network does not exist' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(NetworkRm);
    const root = ImageStore.open().root;
    let failed: DevboxError | undefined;
    for (const ref of argv as string[]) {
      try {
        await withNetworksLock(root, async () => {
          const network = findNetwork(root, ref);
          if (!network) {
            if (flags.force) return;
            throw new DevboxError(`network ${ref} not found`, { fix: 'see "devbox network ls"' });
          }
          const users = networkUsers(root).get(network.name) ?? [];
          if (users.length) {
            const names = users.map((u) => u.name).join(', ');
            throw new DevboxError(`network ${network.name} is in use by ${users.length > 1 ? 'containers' : 'container'} ${names}`, {
              fix: 'remove them first (devbox rm -f; a project sandbox: devbox stop), or disconnect them (devbox network disconnect)',
            });
          }
          deleteNetworkRecord(root, network);
          this.log(ref);
        });
      } catch (error) {
        if (!(error instanceof DevboxError)) throw error;
        // As docker: the other networks are still removed; each failure is reported, and the status is 1.
        if (failed) reportError(failed);
        failed = error;
      }
    }
    if (failed) throw failed;
  }
}
