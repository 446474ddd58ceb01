/**
 * The isolated network of a live project sandbox. The sandbox outlives the devbox command that starts it,
 * so its outbound link (slirp4netns or pasta), the forwarder of its published TCP ports and the auto-forward watcher (the helper's
 * watch-ports, network/auto-forward.ts) are detached; all are handed the sandbox's lifetime socket and end
 * when its pid 1 does, whoever ends it (devbox stop, a kill of pid 1 or of its helper).
 * Their pids go into the sandbox's state so that stopping it waits until they are gone (their host ports free).
 */
import { closeSync, copyFileSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { startPortWatcher } from '../network/auto-forward.js';
import { bridgeResolvConf, hostResolvConf } from '../network/dns.js';
import { requireNetwork } from '../network/networks.js';
import type { NetworkOptions } from '../network/options.js';
import { publishPorts, type OtherHostPort, type Published } from '../network/publish.js';
import { publishedForwards, startNetwork, type NetworkedSandbox, type OutboundSetup } from '../network/sandbox-network.js';
import type { LiveSandboxSpec } from '../runtime/spec.js';
import { type IdMapping, nestIdMapping } from '../userns/idmap.js';
import { type ProcessRecord, recordOf } from '../util/processes.js';
import { type Container, findContainer, isRunning } from '../container/lookup.js';
import { shortId } from '../container/records.js';
import { DevboxError } from '../util/errors.js';
import { writeJoinedNetworks, writeNameFiles, writePortAttributes, writePorts } from './containers.js';

const WATCHER_LOG = 'port-watcher.log';

/** Attaches the network to the sandbox before it is released; on failure nothing of it stays running. */
export async function attachLiveNetwork(
  setup: OutboundSetup,
  sandbox: NetworkedSandbox,
  options: NetworkOptions,
  dir: string,
  otherHostPort: OtherHostPort,
): Promise<ProcessRecord[]> {
  const { link, published, forwarder, stop } = await startNetwork(setup, sandbox, options, dir, { detached: true, otherHostPort });
  writePorts(dir, publishedForwards(published, options.portAttributes));
  const started = [...link.pids.map(recordOf), ...(forwarder ? [recordOf(forwarder.pid)] : [])];
  // Auto-forward speaks slirp4netns's API: not on pasta.
  if (!options.autoForward || !link.api) return started;
  if (options.portAttributes) writePortAttributes(dir, options.portAttributes);
  const log = openSync(join(dir, WATCHER_LOG), 'w', 0o600);
  try {
    const watcher = await startPortWatcher(dir, sandbox, published, log, options.portAttributes);
    return [...started, recordOf(watcher.pid!)];
  } catch (error) {
    await stop();
    throw error;
  } finally {
    closeSync(log);
  }
}

/**
 * -p on a devbox network: TCP through the helper's forwarder (no slirp4netns), which ends with the sandbox;
 * the forwards recorded for `devbox port`.
 */
export async function publishOnNetwork(
  sandbox: NetworkedSandbox,
  options: NetworkOptions,
  dir: string,
  detached: boolean,
  otherHostPort?: OtherHostPort,
): Promise<Published> {
  if (!options.publish.length) return { mappings: [] };
  const published = await publishPorts({ sandbox, dir, detached }, options.publish, otherHostPort);
  writePorts(dir, publishedForwards(published.mappings, options.portAttributes));
  return published;
}

/** The sandbox's map said in the ids of the namespace it is made in (`of`: whose, for the message). */
function nestedIn(outer: IdMapping, mapping: IdMapping, of: string): IdMapping {
  const nested = nestIdMapping(outer, mapping);
  if (!nested)
    throw new DevboxError(`the sandbox's id map does not fit in the one of ${of}`, {
      fix: of.startsWith('container') ? `recreate the container (devbox rm -f ${of.slice(10)}) and enter again` : 'see "devbox doctor"',
    });
  return nested;
}

/** What joining a devbox network changes in a live sandbox's start: the namespace it is made in, and the attach step. */
export interface LiveNetworkJoin {
  spec: Pick<LiveSandboxSpec, 'nestIn' | 'idMapping'>;
  attach(sandbox: NetworkedSandbox): Promise<ProcessRecord[]>;
}

/**
 * Runs `start` with the sandbox joining devbox network `name` (devbox.json's "network": NAME): made inside the
 * network's holder, given its address there, its hosts and resolv.conf written before it runs. Nothing of the
 * network runs for the sandbox alone: the holder goes when its last member does.
 */
export async function withLiveNetwork<T>(
  storeRoot: string,
  name: string,
  mapping: IdMapping,
  dir: string,
  hostname: string,
  ports: { options: NetworkOptions; otherHostPort: OtherHostPort },
  start: (join: LiveNetworkJoin) => Promise<T>,
): Promise<T> {
  const network = requireNetwork(storeRoot, name);
  const { attachToNetworks, withNetworkHolders } = await import('../network/bridge.js');
  return withNetworkHolders(storeRoot, [network], (owner, holders) =>
    start({
      // Made in the networks' owner's user namespace: the sandbox's ids are said in its ids.
      spec: { nestIn: { pid: owner.pid, shareNet: false }, idMapping: nestedIn(owner.idMapping, mapping, 'the devbox networks') },
      async attach(sandbox) {
        const given = (await attachToNetworks(holders, sandbox.pid, () => ({ names: [hostname], upstream: [] })))[network.name]!;
        writeJoinedNetworks(dir, { [network.name]: given });
        writeNameFiles(dir, hostname, [`${given.address}\t${hostname}`], bridgeResolvConf(given.gateway, hostResolvConf()));
        const { forwarder } = await publishOnNetwork(sandbox, ports.options, dir, true, ports.otherHostPort);
        return forwarder ? [recordOf(forwarder.pid)] : [];
      },
    }),
  );
}

/** The running container whose network namespace another one shares (`ref`: its id or name); else one line saying it is not. */
export function sharedNetworkOwner(storeRoot: string, ref: string): Container {
  const target = findContainer(storeRoot, ref);
  if (!isRunning(target)) {
    const name = target.config.name ?? shortId(target.id);
    throw new DevboxError(`container ${name} is not running: --network container:${name} shares its network namespace`, {
      fix: `start it first (devbox start ${name})`,
    });
  }
  return target;
}

/**
 * Runs `start` with the sandbox in the network namespace of container `ref` (a Compose dev service's
 * `network_mode: service:NAME`): made inside that container's user namespace, with its names (hosts and
 * resolv.conf) and the project's forwarded ports published into the shared namespace.
 */
export async function withSharedNetwork<T>(
  storeRoot: string,
  ref: string,
  mapping: IdMapping,
  dir: string,
  ports: { options: NetworkOptions; otherHostPort: OtherHostPort },
  start: (join: LiveNetworkJoin) => Promise<T>,
): Promise<T> {
  const target = sharedNetworkOwner(storeRoot, ref);
  const idMapping = nestedIn(target.config.idMapping, mapping, `container ${target.config.name}`);
  return start({
    spec: { nestIn: { pid: target.state.pid, shareNet: true }, idMapping },
    async attach(sandbox) {
      for (const file of ['hosts', 'resolv.conf']) copyFileSync(join(target.dir, file), join(dir, file));
      // The forwarder enters the namespace's owner (the container's user namespace, which the sandbox's is
      // inside of and has no rights over), for as long as the sandbox lives.
      const owner = { pid: target.state.pid, lifetime: sandbox.lifetime };
      const { forwarder } = await publishOnNetwork(owner, ports.options, dir, true, ports.otherHostPort);
      return forwarder ? [recordOf(forwarder.pid)] : [];
    },
  });
}
