/**
 * `devbox network connect` and `disconnect`, as Docker's: a stopped container's record changes what its next
 * start joins; a running one is given a link on the network at once (a veth pair from the network's holder
 * into its network namespace, possible because its user namespace was made in the networks' owner's, see
 * network/owner.ts) or has its link cut. The record changes too, so that the next start joins the same.
 */
import { type Container, isRunning } from '../container/lookup.js';
import { writeRecord } from '../container/records.js';
import { type NetworkRecord, requireNetwork } from '../network/networks.js';
import { DevboxError } from '../util/errors.js';
import { readJoinedNetworks, readNetworkOwner, writeJoinedNetworks } from './containers.js';

function refuse(message: string, fix?: string): DevboxError {
  return new DevboxError(message, { fix, kind: 'usage' });
}

/** Tells the holders of the container's other networks that it is on `joined` now, for their names. */
async function updatePeers(storeRoot: string, container: Container, joined: readonly string[]): Promise<void> {
  const { setPeerNetworks } = await import('../network/bridge.js');
  const networks = joined.map((name) => requireNetwork(storeRoot, name));
  for (const network of networks)
    await setPeerNetworks(
      storeRoot,
      network,
      container.state.pid,
      networks.filter((n) => n !== network),
    );
}

export async function connectContainer(storeRoot: string, network: NetworkRecord, container: Container, aliases: string[]): Promise<void> {
  const { name } = container.config;
  const current = container.config.network;
  const attachments = current.networks ?? [];
  if (attachments.some((a) => a.name === network.name)) throw refuse(`container ${name} is already connected to network ${network.name}`);
  if (current.shareWith || (current.mode !== 'none' && !attachments.length)) {
    throw refuse(
      `container ${name} has network ${current.shareWith ? `container:${current.shareWith}` : current.mode}: it cannot join network ${network.name}`,
      `create it with --network ${network.name}`,
    );
  }
  const record = { ...container.config, network: { ...current, networks: [...attachments, { name: network.name, aliases }] } };
  if (!isRunning(container)) {
    writeRecord(container.dir, record);
    return;
  }
  const owner = readNetworkOwner(container.dir);
  if (!attachments.length || !owner) {
    throw refuse(`container ${name} was started on no devbox network: it joins one when it starts`, `stop it, connect it, start it (devbox stop ${name})`);
  }
  const { attachToNetwork, holderDir, withNetworkHolders } = await import('../network/bridge.js');
  const { sameOwner } = await import('../network/owner.js');
  await withNetworkHolders(storeRoot, [network], async (now, [holder]) => {
    if (!sameOwner(now, owner))
      throw new DevboxError(`container ${name} runs in an earlier namespace of the devbox networks, whose owner was killed`, {
        fix: `restart it to connect it (devbox restart ${name})`,
      });
    const joined = readJoinedNetworks(container.dir);
    const taken = new Set(Object.values(joined).map((j) => j.ifname ?? 'eth0'));
    let n = 0;
    while (taken.has(`eth${n}`)) n++;
    const given = await attachToNetwork(holder!, {
      pid: container.state.pid,
      ifname: `eth${n}`,
      // Its way out stays where it is; one it did not have comes through this network.
      defaultRoute: !network.internal && !Object.values(joined).some((j) => j.defaultRoute),
      also: Object.keys(joined).map((other) => holderDir(storeRoot, { name: other })),
      names: [name, ...aliases, container.config.hostname],
      upstream: current.names?.dns ?? [],
    });
    writeJoinedNetworks(container.dir, { ...joined, [network.name]: given });
    writeRecord(container.dir, record);
    await updatePeers(storeRoot, container, [...Object.keys(joined), network.name]);
  });
}

export async function disconnectContainer(storeRoot: string, network: NetworkRecord, container: Container): Promise<void> {
  const attachments = container.config.network.networks ?? [];
  if (!attachments.some((a) => a.name === network.name)) {
    throw refuse(`container ${container.config.name} is not connected to network ${network.name}`, 'see "devbox network inspect"');
  }
  // The record first: a start from now on leaves the network out; then the running container's link goes.
  writeRecord(container.dir, { ...container.config, network: { ...container.config.network, networks: attachments.filter((a) => a.name !== network.name) } });
  if (!isRunning(container)) return;
  const { detachFromNetwork } = await import('../network/bridge.js');
  await detachFromNetwork(storeRoot, network, container.state.pid);
  const { [network.name]: _left, ...rest } = readJoinedNetworks(container.dir);
  writeJoinedNetworks(container.dir, rest);
  await updatePeers(storeRoot, container, Object.keys(rest));
}
