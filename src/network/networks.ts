/**
 * User-defined networks, the records behind `devbox network` (docs/networking.md):
 *
 *   networks/<name>.json     one network: its id, subnet, gateway (and IPv6 ones), whether it is internal, labels
 *   networks.lock            held while a network is created or removed (util/file-lock.ts), so that two
 *                            commands never pick the same subnet or name
 *
 * `bridge`, Docker's default network, is predefined: it is never stored, cannot be removed, and lists first.
 * Readers take no lock: each record is written to a temp file and renamed into place.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
export { type NetworkAttachment, validateNetworkName } from './network-name.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { DevboxError, describeError, usageError } from '../util/errors.js';
import { withFileLock } from '../util/file-lock.js';
import { compareCodeUnits } from '../util/format.js';
import { validateNetworkName } from './network-name.js';
import { contains, defaultGateway, formatSubnet, ipv4ToNumber, nextFreeSubnet, overlaps, parseSubnet, type Subnet } from './subnet.js';
import { defaultGateway6, formatSubnet6, overlaps6, parseSubnet6, randomUniqueLocal, type Subnet6 } from './subnet6.js';
import { randomHex } from '../util/random.js';
import { sha256Hex } from '../util/sha256.js';

export interface NetworkRecord {
  version: 1;
  /** 64 hex digits, shown as its first 12. */
  id: string;
  name: string;
  created: string;
  driver: 'bridge';
  subnet: string;
  gateway: string;
  /** No outbound link: containers reach each other only. */
  internal: boolean;
  /** --ipv6: the IPv6 subnet beside the IPv4 one, and its gateway (absent: IPv4 only). */
  subnet6?: string;
  gateway6?: string;
  labels: Record<string, string>;
}

export const DEFAULT_NETWORK = 'bridge';

/** Podman's default network's subnet, under Docker's default network's name. */
const BRIDGE: NetworkRecord = {
  version: 1,
  // The same id on every machine, as Docker's predefined networks have one each.
  id: sha256Hex('devbox network bridge'),
  name: DEFAULT_NETWORK,
  created: '1970-01-01T00:00:00.000Z',
  driver: 'bridge',
  subnet: '10.88.0.0/16',
  gateway: '10.88.0.1',
  internal: false,
  labels: {},
};

/** slirp4netns's own network inside every network namespace it serves: no devbox network may overlap it. */
const SLIRP_SUBNET: Subnet = { base: ipv4ToNumber('10.0.2.0'), prefix: 24 };

/** Names `--network` gives another meaning to. */
const RESERVED_NAMES = new Set(['host', 'none', 'slirp4netns', 'slirp', 'container', 'default', DEFAULT_NETWORK]);

export function networksDir(storeRoot: string): string {
  return join(storeRoot, 'networks');
}

function recordPath(storeRoot: string, name: string): string {
  return join(networksDir(storeRoot), `${name}.json`);
}

function readNetwork(path: string): NetworkRecord | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as NetworkRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DevboxError(`the network record ${path} is unreadable: ${describeError(error)}`, { fix: 'remove the file, then create the network again' });
  }
}

/** Every network, `bridge` first, then by name (as `docker network ls`). */
export function listNetworks(storeRoot: string): NetworkRecord[] {
  let files: string[];
  try {
    files = readdirSync(networksDir(storeRoot)).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
  } catch {
    files = [];
  }
  const stored = files.flatMap((f) => readNetwork(join(networksDir(storeRoot), f)) ?? []).sort((a, b) => compareCodeUnits(a.name, b.name));
  return [BRIDGE, ...stored];
}

/** By name, full id or a unique id prefix; undefined when none matches. */
export function findNetwork(storeRoot: string, nameOrId: string): NetworkRecord | undefined {
  if (nameOrId === DEFAULT_NETWORK) return BRIDGE;
  if (/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(nameOrId)) {
    const byName = readNetwork(recordPath(storeRoot, nameOrId));
    if (byName) return byName;
  }
  if (!/^[0-9a-f]{1,64}$/.test(nameOrId)) return undefined;
  const matches = listNetworks(storeRoot).filter((n) => n.id.startsWith(nameOrId));
  if (matches.length > 1) throw usageError(`network id prefix "${nameOrId}" is ambiguous`, 'give more digits of the id, or the name');
  return matches[0];
}

export function requireNetwork(storeRoot: string, nameOrId: string): NetworkRecord {
  const network = findNetwork(storeRoot, nameOrId);
  if (!network) throw new DevboxError(`network ${nameOrId} not found`, { fix: 'see "devbox network ls", or create it with "devbox network create"' });
  return network;
}

export function isPredefined(network: Pick<NetworkRecord, 'name'>): boolean {
  return network.name === DEFAULT_NETWORK;
}

/** Runs `fn` while no other command creates or removes a network. */
export function withNetworksLock<T>(storeRoot: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(networksDir(storeRoot), { recursive: true, mode: 0o700 });
  return withFileLock(join(storeRoot, 'networks'), `the networks of ${storeRoot}`, fn);
}

export interface NetworkRequest {
  name: string;
  /** CIDR; the next free /24 of 10.89.0.0/16 when absent. */
  subnet?: string;
  gateway?: string;
  internal: boolean;
  labels: Record<string, string>;
  /** --ipv6: an IPv6 subnet too, `subnet6` or a unique local /64. */
  ipv6?: boolean;
  subnet6?: string;
}

/** The IPv6 subnet of a --ipv6 network: the one asked for, else a unique local /64 no other network has. */
function planSubnet6(request: NetworkRequest, existing: readonly NetworkRecord[]): Subnet6 | undefined {
  if (request.subnet6 && !request.ipv6) throw usageError(`subnet ${request.subnet6} is IPv6`, 'add --ipv6 to give the network IPv6 addresses');
  if (!request.ipv6) return undefined;
  const taken = existing.flatMap((n) => (n.subnet6 ? [{ name: n.name, subnet: parseSubnet6(n.subnet6) }] : []));
  if (!request.subnet6) {
    let subnet = randomUniqueLocal();
    while (taken.some((t) => overlaps6(t.subnet, subnet))) subnet = randomUniqueLocal();
    return subnet;
  }
  const subnet = parseSubnet6(request.subnet6);
  const clash = taken.find((t) => overlaps6(t.subnet, subnet));
  if (clash)
    throw usageError(
      `subnet ${request.subnet6} overlaps network ${clash.name} (${formatSubnet6(clash.subnet)})`,
      'choose a subnet no other network uses ("devbox network inspect" shows theirs)',
    );
  return subnet;
}

/** Checks the request against the networks there are; the record to write. */
export function planNetwork(request: NetworkRequest, existing: readonly NetworkRecord[], now = new Date()): NetworkRecord {
  const name = validateNetworkName(request.name);
  const subnet6 = planSubnet6(request, existing);
  if (RESERVED_NAMES.has(name) || existing.some((n) => n.name === name)) {
    throw usageError(
      `network with name ${name} already exists`,
      RESERVED_NAMES.has(name) ? `"${name}" is predefined; choose another name` : 'choose another name, or remove it first',
    );
  }
  const taken = existing.map((n) => ({ name: n.name, subnet: parseSubnet(n.subnet) }));
  let subnet: Subnet;
  if (request.subnet) {
    subnet = parseSubnet(request.subnet);
    if (overlaps(subnet, SLIRP_SUBNET))
      throw usageError(`subnet ${request.subnet} overlaps ${formatSubnet(SLIRP_SUBNET)}, the outbound link's own network`, 'choose another subnet');
    const clash = taken.find((t) => overlaps(t.subnet, subnet));
    if (clash)
      throw usageError(
        `subnet ${request.subnet} overlaps network ${clash.name} (${formatSubnet(clash.subnet)})`,
        'choose a subnet no other network uses ("devbox network inspect" shows theirs)',
      );
  } else {
    const free = nextFreeSubnet(taken.map((t) => t.subnet));
    if (!free)
      throw new DevboxError('no free subnet left in 10.89.0.0/16', { fix: 'give one with --subnet, or remove unused networks (devbox network prune)' });
    subnet = free;
  }
  if (request.gateway !== undefined && (!contains(subnet, request.gateway) || request.gateway === formatSubnet(subnet).split('/')[0])) {
    throw usageError(
      `gateway ${request.gateway} is not an address of subnet ${formatSubnet(subnet)}`,
      'give an address inside the subnet, or leave --gateway out',
    );
  }
  return {
    version: 1,
    id: randomHex(32),
    name,
    created: now.toISOString(),
    driver: 'bridge',
    subnet: formatSubnet(subnet),
    gateway: request.gateway ?? defaultGateway(subnet),
    internal: request.internal,
    ...(subnet6 ? { subnet6: formatSubnet6(subnet6), gateway6: defaultGateway6(subnet6) } : {}),
    labels: request.labels,
  };
}

export async function createNetwork(storeRoot: string, request: NetworkRequest): Promise<NetworkRecord> {
  return withNetworksLock(storeRoot, async () => {
    const record = planNetwork(request, listNetworks(storeRoot));
    // Durable: a network is a user's own configuration, as an image is.
    writeFileAtomicSync(recordPath(storeRoot, record.name), `${JSON.stringify(record, null, 2)}\n`, { durable: true, mode: 0o600 });
    return record;
  });
}

/** Removes the record; callers check under withNetworksLock that nothing uses it. */
export function deleteNetworkRecord(storeRoot: string, network: NetworkRecord): void {
  if (isPredefined(network)) throw usageError(`${network.name} is a pre-defined network and cannot be removed`);
  rmSync(recordPath(storeRoot, network.name), { force: true });
}
