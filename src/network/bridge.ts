/**
 * A devbox network's data path, from the side of a sandbox that joins it (docs/networking.md): one network
 * namespace per network, kept by a holder process (holder-main.ts) that holds the bridge, the resolver and,
 * unless the network is internal, one outbound link (slirp4netns or pasta) for every container on it. Every
 * holder runs as root of the networks' owner's user namespace (owner.ts), in which every member's user
 * namespace is made (the helper's --userns-of): so a holder may give any member a veth pair, at its start or
 * while it runs.
 *
 *   networks/NAME.run/        the holder's directory: holder.json (its pid and start time, and its owner's),
 *                             holder.sock, holder.log, names.json (its members' names, which the holders of
 *                             their other networks answer with too), slirp4netns.sock and .log (pasta.pid
 *                             and .log)
 */
import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { lastHelperMessage } from '../runtime/helper.js';
import { spawnNetworkNamespace } from '../runtime/namespace.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { DevboxError, describeError } from '../util/errors.js';
import { startTimeOf } from '../util/processes.js';
import { firstLine } from '../util/exec.js';
import { findProgram } from '../util/programs.js';
import { type NetworkRecord, networksDir } from './networks.js';
import { type UsernsOwner, ownerDir, readLiveState, sameOwner, withUsernsOwner } from './owner.js';
import { prepareOutbound, startOutbound } from './sandbox-network.js';
import { SLIRP_DNS } from './slirp4netns.js';

/** What the holder is told when it starts (its only argument, as JSON). */
export interface HolderConfig {
  name: string;
  subnet: string;
  gateway: string;
  /** --ipv6 networks: the IPv6 subnet and gateway. */
  subnet6?: string;
  gateway6?: string;
  internal: boolean;
  upstreamDns: string;
  /** The owner's lock and the holder's state file, which it removes (under the lock) when it goes. */
  lock: string;
  stateFile: string;
  programs: { ip: string; nsenter: string; iptables: string };
}

export interface AttachRequest {
  /** The container's pid 1, whose network namespace gets the veth's other end. */
  pid: number;
  /** That end's name there: eth0 on its first network, eth1 on the next… */
  ifname: string;
  /** Its default route goes through this network's gateway (the first network with a way out). */
  defaultRoute: boolean;
  /** The holder directories of its other networks: their names resolve for it too (their names.json). */
  also: string[];
  /** Its name, aliases and host name: what the network's resolver answers with its address. */
  names: string[];
  /** --dns: where the resolver asks other names for this container (none: the network's outbound resolver). */
  upstream: string[];
}

/** What holder.sock takes: one request per connection, one JSON line; the reply likewise. */
export type HolderRequest = ({ op?: 'attach' } & AttachRequest) | { op: 'detach'; pid: number } | { op: 'peers'; pid: number; also: string[] };

export interface AttachReply {
  address: string;
  gateway: string;
  prefix: number;
  /** On a --ipv6 network. */
  address6?: string;
  gateway6?: string;
  prefix6?: number;
  ifname: string;
  defaultRoute: boolean;
}

interface HolderState {
  pid: number;
  start: string;
  /** The owner whose namespace it runs in. */
  owner: Pick<UsernsOwner, 'pid' | 'start'>;
}

export interface NetworkHolder {
  pid: number;
  dir: string;
  network: NetworkRecord;
}

export function holderDir(storeRoot: string, network: Pick<NetworkRecord, 'name'>): string {
  return join(networksDir(storeRoot), `${network.name}.run`);
}

function requireProgram(name: string): string {
  // ip and iptables live in sbin, which a user's PATH may leave out.
  const program = findProgram(name, `${process.env.PATH ?? ''}:/usr/sbin:/sbin`);
  if (!program)
    throw new DevboxError(`${name} not found: devbox networks need it`, {
      fix: `apt-get install ${name === 'ip' ? 'iproute2' : name === 'nsenter' ? 'util-linux' : name}`,
    });
  return program;
}

function liveHolder(dir: string): HolderState | undefined {
  return readLiveState<HolderState>(join(dir, 'holder.json'));
}

async function startHolder(storeRoot: string, network: NetworkRecord, owner: UsernsOwner, dir: string): Promise<HolderState> {
  const config: HolderConfig = {
    name: network.name,
    subnet: network.subnet,
    gateway: network.gateway,
    ...(network.subnet6 ? { subnet6: network.subnet6, gateway6: network.gateway6 } : {}),
    internal: network.internal,
    upstreamDns: SLIRP_DNS,
    lock: ownerDir(storeRoot),
    stateFile: join(dir, 'holder.json'),
    programs: { ip: requireProgram('ip'), nsenter: requireProgram('nsenter'), iptables: requireProgram('iptables') },
  };
  const outbound = network.internal
    ? undefined
    : await prepareOutbound(undefined, join(storeRoot, 'slirp4netns.json'), 'or create the network with --internal');
  const logPath = join(dir, 'holder.log');
  const log = openSync(logPath, 'w', 0o600);
  const script = fileURLToPath(new URL('./holder-main.js', import.meta.url));
  let started: Awaited<ReturnType<typeof spawnNetworkNamespace>>;
  try {
    started = await spawnNetworkNamespace({ of: owner.pid }, [process.execPath, script, JSON.stringify(config)], { cwd: dir, log });
  } finally {
    closeSync(log);
  }
  const failed = (why: string) => new DevboxError(`network ${network.name} could not be set up: ${why}`, { fix: 'see "devbox doctor"' });
  if (!started) throw failed(lastHelperMessage(logPath));
  try {
    if (outbound) {
      // The outbound link ends when the holder does: the holder holds the other end of its lifetime socket.
      await startOutbound(outbound, { pid: started.pid, allowHostLoopback: false }, dir, started.lifetime, true);
    }
    started.lifetime.destroy();
    const ready = firstLine(started.stdout);
    await started.go();
    if ((await ready) !== 'ready') throw failed(lastHelperMessage(logPath));
  } catch (error) {
    started.helper.kill('SIGKILL');
    throw error;
  }
  (started.stdout as Readable).destroy();
  started.helper.unref();
  const state = { pid: started.pid, start: startTimeOf(started.pid) ?? '', owner: { pid: owner.pid, start: owner.start } };
  writeFileAtomicSync(join(dir, 'holder.json'), JSON.stringify(state), { durable: false, mode: 0o600 });
  return state;
}

/**
 * Runs `join` with the owner and the holders of `networks` up, starting those that are not; under the owner's
 * lock, so that no holder can go before `join` has attached its sandbox (attachToNetwork).
 */
export function withNetworkHolders<T>(
  storeRoot: string,
  networks: readonly NetworkRecord[],
  join_: (owner: UsernsOwner, holders: NetworkHolder[]) => Promise<T>,
): Promise<T> {
  return withUsernsOwner(storeRoot, async (owner) => {
    const holders: NetworkHolder[] = [];
    for (const network of networks) {
      const dir = holderDir(storeRoot, network);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      let state = liveHolder(dir);
      if (state && !sameOwner(state.owner, owner)) {
        throw new DevboxError(`network ${network.name} runs in an earlier namespace of the devbox networks, whose owner was killed`, {
          fix: `stop the containers on it (devbox network inspect ${network.name}) and start them again`,
        });
      }
      state ??= await startHolder(storeRoot, network, owner, dir);
      holders.push({ pid: state.pid, dir, network });
    }
    return join_(owner, holders);
  });
}

/** The owner and the holders of some networks, under the owner's lock until release() (see joinNetworks). */
export interface NetworksJoin {
  owner: UsernsOwner;
  holders: NetworkHolder[];
  release(): Promise<void>;
}

/**
 * withNetworkHolders for a start that outlives its attach (a foreground `run` waits for its command): the
 * owner's lock is held until release(), which the caller calls once its sandbox is attached (a member, with
 * its links, so that nothing it joined goes) or has failed, not for as long as the sandbox runs.
 */
export async function joinNetworks(storeRoot: string, networks: readonly NetworkRecord[]): Promise<NetworksJoin> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let ready!: (value: Omit<NetworksJoin, 'release'>) => void;
  const joined = new Promise<Omit<NetworksJoin, 'release'>>((resolve) => (ready = resolve));
  const locked = withNetworkHolders(storeRoot, networks, async (owner, holders) => {
    ready({ owner, holders });
    await released;
  });
  const { owner, holders } = await Promise.race([joined, locked.then(() => joined)]);
  return {
    owner,
    holders,
    release: async () => {
      release();
      await locked;
    },
  };
}

/** Gives the container whose pid 1 is `request.pid` its veth pair and address on the holder's network. */
export async function attachToNetwork(holder: NetworkHolder, request: AttachRequest): Promise<AttachReply> {
  return (await ask(holder, request, `cannot join network ${holder.network.name}`)) as AttachReply;
}

/**
 * Gives the sandbox whose pid 1 is `pid` a link on each of `holders`' networks, in order (eth0, eth1…), its
 * default route through the first with a way out. `names`: what it answers to on a network, and where that
 * network's resolver asks other names for it.
 */
export async function attachToNetworks(
  holders: readonly NetworkHolder[],
  pid: number,
  names: (network: NetworkRecord) => Pick<AttachRequest, 'names' | 'upstream'>,
): Promise<Record<string, AttachReply>> {
  const route = holders.findIndex((h) => !h.network.internal);
  const given: Record<string, AttachReply> = {};
  for (const [i, holder] of holders.entries()) {
    const also = holders.filter((h) => h !== holder).map((h) => h.dir);
    given[holder.network.name] = await attachToNetwork(holder, { pid, ifname: `eth${i}`, defaultRoute: i === route, also, ...names(holder.network) });
  }
  return given;
}

/** The holder of `network` while it runs. */
function runningHolder(storeRoot: string, network: NetworkRecord): NetworkHolder | undefined {
  const dir = holderDir(storeRoot, network);
  const state = liveHolder(dir);
  return state && { pid: state.pid, dir, network };
}

/**
 * Cuts the link of the container whose pid 1 is `pid` (network disconnect); false when the network has no
 * holder or the container no link on it.
 */
export async function detachFromNetwork(storeRoot: string, network: NetworkRecord, pid: number): Promise<boolean> {
  const holder = runningHolder(storeRoot, network);
  if (!holder) return false;
  return ((await ask(holder, { op: 'detach', pid }, `cannot leave network ${network.name}`)) as { detached: boolean }).detached;
}

/** Tells the holder of `network` which other networks the container whose pid 1 is `pid` is on, for its names. */
export async function setPeerNetworks(storeRoot: string, network: NetworkRecord, pid: number, others: readonly NetworkRecord[]): Promise<void> {
  const holder = runningHolder(storeRoot, network);
  if (holder) await ask(holder, { op: 'peers', pid, also: others.map((n) => holderDir(storeRoot, n)) }, `cannot update network ${network.name}`);
}

/** One request to the holder; `failed` starts the message of a failure. */
async function ask(holder: NetworkHolder, request: HolderRequest, failed: string): Promise<unknown> {
  const dirFd = openSync(holder.dir, constants.O_RDONLY | constants.O_DIRECTORY);
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    // A store path can be longer than a socket address holds (107 bytes): through a descriptor of the directory.
    const socket = connect(`/proc/self/fd/${dirFd}/holder.sock`);
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  })
    .catch((error) => {
      throw new DevboxError(`${failed}: ${describeError(error)}`);
    })
    .finally(() => closeSync(dirFd));
  const reply = JSON.parse(text) as { error?: string };
  if (reply.error) throw new DevboxError(`${failed}: ${reply.error}`);
  return reply;
}
