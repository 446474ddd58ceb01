import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { findContainer, isRunning } from '../../container/lookup.js';
import { writeRecord } from '../../container/records.js';
import { ImageStore } from '../../image/store.js';
import { requireNetwork } from '../../network/networks.js';
import { DevboxError } from '../../util/errors.js';

export default class NetworkConnect extends DevboxCommand {
  static summary = 'Connect a stopped container to a network: it joins when it starts';
  static description =
    "A container joins one devbox network, from its start: its user namespace is made inside the network's (docs/networking.md). Connect a stopped container; disconnect cuts a running one's link at once.";
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
    const container = findContainer(root, args.container);
    const { name } = container.config;
    const current = container.config.network;
    if (current.networks?.some((a) => a.name === network.name)) throw new DevboxError(`container ${name} is already connected to network ${network.name}`);
    if (current.networks?.length) {
      throw new DevboxError(`container ${name} is on network ${current.networks[0].name}: a container joins one network`, {
        fix: `disconnect it first (devbox network disconnect ${current.networks[0].name} ${name})`,
      });
    }
    if (current.shareWith || current.mode !== 'none' || current.publish.length) {
      throw new DevboxError(`container ${name} has network ${current.shareWith ? 'container:…' : current.mode}: it cannot join network ${network.name}`, {
        fix: `create it with --network ${network.name}`,
      });
    }
    if (isRunning(container))
      throw new DevboxError(`container ${name} is running: it joins a network when it starts`, { fix: `stop it, connect it, start it` });
    writeRecord(container.dir, { ...container.config, network: { ...current, networks: [{ name: network.name, aliases: flags.alias ?? [] }] } });
  }
}
