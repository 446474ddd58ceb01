import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { findContainer, isRunning } from '../../container/lookup.js';
import { writeRecord } from '../../container/records.js';
import { ImageStore } from '../../image/store.js';
import { detachFromNetwork } from '../../network/bridge.js';
import { requireNetwork } from '../../network/networks.js';
import { DevboxError } from '../../util/errors.js';

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
    const container = findContainer(root, args.container);
    const attachments = container.config.network.networks ?? [];
    if (!attachments.some((a) => a.name === network.name)) {
      throw new DevboxError(`container ${container.config.name} is not connected to network ${network.name}`, { fix: 'see "devbox network inspect"' });
    }
    // The record first: a start from now on leaves the network out; then the running container's link goes.
    writeRecord(container.dir, { ...container.config, network: { ...container.config.network, networks: attachments.filter((a) => a.name !== network.name) } });
    if (isRunning(container)) await detachFromNetwork(root, network, container.state.pid);
  }
}
