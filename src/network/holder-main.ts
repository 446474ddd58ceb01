/**
 * A devbox network's holder: the program that keeps the network's namespace (docs/networking.md). It runs
 * as root of the network's user namespace, in its network namespace (started by bridge.ts through the
 * helper), and:
 * - makes the bridge `br0` with the gateway's address, and, unless the network is internal, forwarding and
 *   a masquerade of the subnet out through slirp4netns's tap0;
 * - serves the network's names on the gateway's port 53 (dns-server.ts);
 * - gives each container that asks (holder.sock, one JSON request per connection) a veth pair into the
 *   bridge and an address: we are root of the networks' owner's user namespace (owner.ts), in which the
 *   container's is made, so we may move a link into its network namespace, also while it runs;
 * - keeps its members' names in names.json, which the holders of their other networks read: a container on
 *   this network and another finds this one's names through the other's resolver too;
 * - watches the links (`ip monitor link`): a container's end goes when its network namespace goes, however
 *   its processes ended, and the bridge's end with it. When the last one is gone it exits, and slirp4netns
 *   (whose --exit-fd is our fd 4) with it.
 */
import { execFile, spawn } from 'node:child_process';
import { randomHex } from '../util/random.js';
import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { withFileLock } from '../util/file-lock.js';
import { startResolver } from './dns-server.js';
import { hostAddress, parseSubnet } from './subnet.js';
import { hostAddress6, parseSubnet6 } from './subnet6.js';
import type { AttachReply, AttachRequest, HolderConfig, HolderRequest } from './bridge.js';

const config = JSON.parse(process.argv[2]) as HolderConfig;
const subnet = parseSubnet(config.subnet);
const subnet6 = config.subnet6 === undefined ? undefined : parseSubnet6(config.subnet6);
/** How long a holder no container has joined waits before it goes: its starter died before it asked. */
const FIRST_ATTACH_MS = 30_000;
/** veth and bridge MTU: as slirp4netns's tap0, so that a container's packets are not cut on the way out. */
const MTU = 65520;

interface Endpoint {
  pid: number;
  address: string;
  /** On a --ipv6 network: the IPv6 address with the same host number. */
  address6?: string;
  names: string[];
  upstream: string[];
  /** The holder directories of its other networks. */
  also: string[];
}
const endpoints = new Map<string, Endpoint>();
let busy = 0;

function ip(args: string[], input?: string, netnsOf?: number): Promise<void> {
  const [file, argv] =
    netnsOf === undefined ? [config.programs.ip, args] : [config.programs.nsenter, [`--net=/proc/${netnsOf}/ns/net`, '--', config.programs.ip, ...args]];
  return new Promise((resolve, reject) => {
    const child = execFile(file, argv, (error, _stdout, stderr) =>
      error ? reject(new Error(`${args.join(' ')}: ${stderr.trim() || error.message}`)) : resolve(),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** The next free host number: its IPv4 address, and on a --ipv6 network its IPv6 one. */
function freeAddress(): { address: string; address6?: string } {
  const used = new Set([config.gateway, ...[...endpoints.values()].map((e) => e.address)]);
  for (let n = 0; ; n++) {
    const address = hostAddress(subnet, n);
    if (address === undefined) throw new Error(`no free address left in ${config.subnet}`);
    if (used.has(address)) continue;
    const address6 = subnet6 && hostAddress6(subnet6, n);
    return address6 ? { address, address6 } : { address };
  }
}

function addressesOf(e: Endpoint): string[] {
  return e.address6 ? [e.address, e.address6] : [e.address];
}

/** Our members' names and addresses, for the holders of their other networks; replaced whole. */
function publishNames(): void {
  const table: Record<string, string[]> = {};
  for (const e of endpoints.values()) for (const name of e.names) table[name] = [...(table[name] ?? []), ...addressesOf(e)];
  writeFileSync('names.json.tmp', JSON.stringify(table));
  renameSync('names.json.tmp', 'names.json');
}

function endpointOf(pid: number): [string, Endpoint] | undefined {
  return [...endpoints].find(([, e]) => e.pid === pid);
}

/** Cuts a container's link (network disconnect): its veth pair goes, and its names with it. */
async function detach(pid: number): Promise<{ detached: boolean }> {
  const found = endpointOf(pid);
  if (!found) return { detached: false };
  await ip(['link', 'del', found[0]]);
  endpoints.delete(found[0]);
  publishNames();
  return { detached: true };
}

/** A container joined or left another network: the names we answer it with besides ours. */
function setPeers(pid: number, also: string[]): { updated: boolean } {
  const found = endpointOf(pid);
  if (found) found[1].also = also;
  return { updated: found !== undefined };
}

async function attach(request: AttachRequest): Promise<AttachReply> {
  if (endpointOf(request.pid)) throw new Error('the container is attached already');
  const { address, address6 } = freeAddress();
  const veth = `vd${randomHex(4)}`;
  const names = request.names.map((n) => n.toLowerCase());
  endpoints.set(veth, { pid: request.pid, address, ...(address6 ? { address6 } : {}), names, upstream: request.upstream ?? [], also: request.also ?? [] });
  const { ifname } = request;
  const defaultRoute = request.defaultRoute && !config.internal;
  try {
    await ip(['link', 'add', veth, 'mtu', String(MTU), 'type', 'veth', 'peer', 'name', ifname, 'mtu', String(MTU), 'netns', String(request.pid)]);
    await ip(['link', 'set', veth, 'master', 'br0', 'up']);
    const inside = [
      `addr add ${address}/${subnet.prefix} dev ${ifname}`,
      // nodad: usable at once, as the address is the network's to give (no duplicate to detect).
      ...(address6 ? [`addr add ${address6}/${subnet6!.prefix} dev ${ifname} nodad`] : []),
      `link set ${ifname} up`,
      ...(defaultRoute ? [`route add default via ${config.gateway}`] : []),
    ];
    await ip(['-batch', '-'], `${inside.join('\n')}\n`, request.pid);
  } catch (error) {
    endpoints.delete(veth);
    throw error;
  }
  publishNames();
  const v6 = address6 ? { address6, gateway6: config.gateway6!, prefix6: subnet6!.prefix } : {};
  return { address, gateway: config.gateway, prefix: subnet.prefix, ...v6, ifname, defaultRoute };
}

/** A name's addresses: on this network, else (for a client also on other networks) on those. */
function lookup(name: string, client: string): string[] | undefined {
  const found = [...endpoints.values()].filter((e) => e.names.includes(name)).flatMap(addressesOf);
  if (found.length) return found;
  for (const dir of [...endpoints.values()].find((e) => e.address === client)?.also ?? []) {
    try {
      const there = (JSON.parse(readFileSync(join(dir, 'names.json'), 'utf8')) as Record<string, string[]>)[name];
      if (there?.length) return there;
    } catch {
      // that network's holder is gone, or has no members yet
    }
  }
  return undefined;
}

let exiting = false;
/** Goes when no container is attached: under the network's lock, so that no start finds us going. */
async function exitIfUnused(): Promise<void> {
  if (exiting || endpoints.size || busy) return;
  exiting = true;
  const leave = await withFileLock(config.lock, `network ${config.name}`, async () => {
    if (endpoints.size || busy) return false;
    rmSync(config.stateFile, { force: true });
    rmSync('names.json', { force: true });
    return true;
  });
  if (leave) process.exit(0);
  exiting = false;
}

function serve(socket: Socket): void {
  let text = '';
  socket.on('data', async (chunk) => {
    text += chunk.toString('utf8');
    if (!text.includes('\n')) return;
    busy++;
    let reply: AttachReply | { detached: boolean } | { updated: boolean } | { error: string };
    try {
      const request = JSON.parse(text) as HolderRequest;
      reply = request.op === 'detach' ? await detach(request.pid) : request.op === 'peers' ? setPeers(request.pid, request.also) : await attach(request);
    } catch (error) {
      reply = { error: (error as Error).message };
    } finally {
      busy--;
    }
    socket.end(`${JSON.stringify(reply)}\n`);
    if (!('address' in reply)) void exitIfUnused();
  });
  socket.on('error', () => {});
}

async function main(): Promise<void> {
  const bridge6 = subnet6 ? [`addr add ${config.gateway6}/${subnet6.prefix} dev br0 nodad`] : [];
  await ip(
    ['-batch', '-'],
    [`link add br0 mtu ${MTU} type bridge`, `addr add ${config.gateway}/${subnet.prefix} dev br0`, ...bridge6, 'link set br0 up'].join('\n'),
  );
  if (!config.internal) {
    writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
    await new Promise<void>((resolve, reject) =>
      execFile(
        config.programs.iptables,
        ['-t', 'nat', '-A', 'POSTROUTING', '-s', config.subnet, '!', '-d', config.subnet, '-j', 'MASQUERADE'],
        (error, _o, stderr) => (error ? reject(new Error(`iptables: ${stderr.trim() || error.message}`)) : resolve()),
      ),
    );
  }
  // Other names: the container's --dns server, else the outbound link's resolver; none on an internal network.
  const upstream = (client: string) =>
    config.internal ? undefined : ([...endpoints.values()].find((e) => e.address === client)?.upstream[0] ?? config.upstreamDns);
  await startResolver(config.gateway, lookup, upstream);
  const monitor = spawn(config.programs.ip, ['-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
  createInterface({ input: monitor.stdout! }).on('line', (line) => {
    const gone = /^Deleted (?:link )?\d+: (vd[0-9a-f]+)[@:]/.exec(line)?.[1];
    if (gone && endpoints.delete(gone)) {
      publishNames();
      void exitIfUnused();
    }
  });
  rmSync('holder.sock', { force: true });
  publishNames();
  const server = createServer(serve);
  await new Promise<void>((resolve) => server.listen('holder.sock', resolve));
  // Root here is a subordinate id on the host: the user's devbox may connect; the directory (0700) keeps others out.
  chmodSync('holder.sock', 0o666);
  setTimeout(() => void exitIfUnused(), FIRST_ATTACH_MS).unref();
  process.stdout.write('ready\n');
}

main().catch((error) => {
  process.stderr.write(`devbox network holder: ${(error as Error).message}\n`);
  process.exit(1);
});
