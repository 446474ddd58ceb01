/**
 * A devbox network's data path, from the side of a container that joins it (docs/networking.md): one
 * network namespace per network, kept by a holder process (holder-main.ts) that runs as root of a user
 * namespace of its own and holds the bridge, the resolver and, unless the network is internal, one
 * outbound link (slirp4netns or pasta) for every container on it. A container's user namespace is made inside the holder's (the
 * helper's --userns-of), which is what lets the holder give it a veth pair.
 *
 *   networks/NAME.run/        the holder's directory: holder.json (its pid and start time), holder.sock,
 *                             holder.log, slirp4netns.sock and .log (pasta.pid and .log)
 *   networks/NAME.run.lock    held while a container joins (and the holder goes), so none joins a holder
 *                             on its way out
 */
import { closeSync, constants, mkdirSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { lastHelperMessage } from '../runtime/helper.js';
import { spawnNetworkNamespace } from '../runtime/namespace.js';
import type { IdMapping } from '../userns/idmap.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { DevboxError, describeError } from '../util/errors.js';
import { withFileLock } from '../util/file-lock.js';
import { startTimeOf } from '../util/processes.js';
import { firstLine } from '../util/exec.js';
import { findProgram } from '../util/programs.js';
import { type NetworkRecord, networksDir } from './networks.js';
import { prepareOutbound, startOutbound } from './sandbox-network.js';
import { SLIRP_DNS } from './slirp4netns.js';

/** What the holder is told when it starts (its only argument, as JSON). */
export interface HolderConfig {
  name: string;
  subnet: string;
  gateway: string;
  internal: boolean;
  upstreamDns: string;
  /** The network's lock and the holder's state file, which it removes (under the lock) when it goes. */
  lock: string;
  stateFile: string;
  programs: { ip: string; nsenter: string; iptables: string };
}

export interface AttachRequest {
  /** The container's pid 1, whose network namespace gets the veth's other end as eth0. */
  pid: number;
  /** Its name, aliases and host name: what the network's resolver answers with its address. */
  names: string[];
  /** --dns: where the resolver asks other names for this container (none: the network's outbound resolver). */
  upstream: string[];
}

/** What holder.sock takes: one request per connection, one JSON line; the reply likewise. */
export type HolderRequest = ({ op?: 'attach' } & AttachRequest) | { op: 'detach'; pid: number };

export interface AttachReply {
  address: string;
  gateway: string;
  prefix: number;
}

interface HolderState {
  pid: number;
  start: string;
  /** Its user namespace's id map: a member's is nested in it (said in its ids). Absent: a holder of an older devbox. */
  idMapping?: IdMapping;
}

export interface NetworkHolder {
  /** The holder's pid: the user namespace a container's is made in (--userns-of). */
  pid: number;
  /** That user namespace's id map (the first member's, which started the holder). */
  mapping: IdMapping;
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
  try {
    const state = JSON.parse(readFileSync(join(dir, 'holder.json'), 'utf8')) as HolderState;
    return startTimeOf(state.pid) === state.start ? state : undefined;
  } catch {
    return undefined;
  }
}

async function startHolder(storeRoot: string, network: NetworkRecord, mapping: IdMapping, dir: string): Promise<HolderState> {
  const config: HolderConfig = {
    name: network.name,
    subnet: network.subnet,
    gateway: network.gateway,
    internal: network.internal,
    upstreamDns: SLIRP_DNS,
    lock: dir,
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
    started = await spawnNetworkNamespace(mapping, [process.execPath, script, JSON.stringify(config)], { cwd: dir, log });
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
  const state = { pid: started.pid, start: startTimeOf(started.pid) ?? '', idMapping: mapping };
  writeFileAtomicSync(join(dir, 'holder.json'), JSON.stringify(state), { durable: false, mode: 0o600 });
  return state;
}

/**
 * Runs `join` with the network's holder up, starting it when none runs; under the network's lock, so the
 * holder cannot go before `join` has attached the container (attachToNetwork).
 */
export async function withNetworkHolder<T>(
  storeRoot: string,
  network: NetworkRecord,
  mapping: IdMapping,
  join_: (holder: NetworkHolder) => Promise<T>,
): Promise<T> {
  const dir = holderDir(storeRoot, network);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return withFileLock(dir, `network ${network.name}`, async () => {
    const state = liveHolder(dir) ?? (await startHolder(storeRoot, network, mapping, dir));
    return join_({ pid: state.pid, mapping: state.idMapping ?? mapping, dir, network });
  });
}

/** Gives the container whose pid 1 is `request.pid` its veth pair and address on the holder's network. */
export async function attachToNetwork(holder: NetworkHolder, request: AttachRequest): Promise<AttachReply> {
  return (await ask(holder, request, `cannot join network ${holder.network.name}`)) as AttachReply;
}

/**
 * Cuts the link of the container whose pid 1 is `pid` (network disconnect); false when the network has no
 * holder or the container no link on it.
 */
export async function detachFromNetwork(storeRoot: string, network: NetworkRecord, pid: number): Promise<boolean> {
  const dir = holderDir(storeRoot, network);
  const state = liveHolder(dir);
  if (!state) return false;
  return (
    (await ask({ pid: state.pid, mapping: state.idMapping!, dir, network }, { op: 'detach', pid }, `cannot leave network ${network.name}`)) as {
      detached: boolean;
    }
  ).detached;
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
