/**
 * Files of a container's or a live sandbox's directory that its sandbox sees: the files bound over
 * /etc/hosts, /etc/hostname (and /etc/resolv.conf with slirp4netns), and its port forwards for `devbox ports`:
 * ports.json, the published ones (written when it starts), and auto-ports.json, the auto-forwarded ones (kept
 * by the port watcher while it runs, network/auto-forward.ts), labelled by port-attributes.json (a project's
 * portsAttributes); and networks.json, where it is on each devbox network it joined. The container's records
 * are src/container/'s.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUTO_PORTS_FILE } from '../network/auto-forward.js';
import type { PortAttributeRules } from '../network/options.js';
import type { PortMapping } from '../network/port-mapping.js';
import { labelForwards, type PortForward } from '../network/sandbox-network.js';
import type { BindMount } from '../runtime/spec.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { DevboxError, describeError } from '../util/errors.js';

export interface NameFiles {
  hosts: string;
  hostname: string;
  /** Only when the network has a resolver of its own. */
  resolvConf?: string;
}

/** /etc/hosts, /etc/hostname (and /etc/resolv.conf) for the container, as Docker writes them. */
export function writeNameFiles(dir: string, hostname: string, hostsEntries: readonly string[], resolvConf?: string): NameFiles {
  const files: NameFiles = { hosts: join(dir, 'hosts'), hostname: join(dir, 'hostname') };
  writeFileSync(files.hosts, ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', ...hostsEntries, ''].join('\n'));
  writeFileSync(files.hostname, `${hostname}\n`);
  if (resolvConf !== undefined) {
    files.resolvConf = join(dir, 'resolv.conf');
    writeFileSync(files.resolvConf, resolvConf);
  }
  return files;
}

/** The name files bound over /etc; a sandbox without a resolver of its own reads the host's /etc/resolv.conf. */
export function nameFileMounts(names: NameFiles): BindMount[] {
  return [
    { source: names.hosts, destination: '/etc/hosts', readonly: false },
    { source: names.hostname, destination: '/etc/hostname', readonly: false },
    ...(names.resolvConf
      ? [{ source: names.resolvConf, destination: '/etc/resolv.conf', readonly: false }]
      : existsSync('/etc/resolv.conf')
        ? [{ source: '/etc/resolv.conf', destination: '/etc/resolv.conf', readonly: true }]
        : []),
  ];
}

/** Read by other processes while it changes; describes running processes, so nothing to keep across a power loss. */
function writeJson(path: string, value: unknown): void {
  writeFileAtomicSync(path, JSON.stringify(value), { durable: false });
}

const PUBLISHED_PORTS_FILE = 'ports.json';

/** The published forwards; `dir`: a container's or a live sandbox's directory. */
export function writePorts(dir: string, forwards: readonly PortForward[]): void {
  writeJson(join(dir, PUBLISHED_PORTS_FILE), forwards);
}

const PORT_ATTRIBUTES_FILE = 'port-attributes.json';

/** What the project says of its ports, for the labels of the forwards the watcher finds. */
export function writePortAttributes(dir: string, attributes: PortAttributeRules): void {
  writeJson(join(dir, PORT_ATTRIBUTES_FILE), attributes);
}

const JOINED_NETWORKS_FILE = 'networks.json';
const NETWORK_OWNER_FILE = 'network-owner.json';

/** Forgets the forwards and network addresses of an earlier start. */
export function clearStartRecords(dir: string): void {
  for (const file of [PUBLISHED_PORTS_FILE, AUTO_PORTS_FILE, PORT_ATTRIBUTES_FILE, JOINED_NETWORKS_FILE, NETWORK_OWNER_FILE])
    rmSync(join(dir, file), { force: true });
}

function readJson<T>(dir: string, file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, file), 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DevboxError(`cannot read the ports of the container in ${dir}: ${describeError(error)}`);
  }
}

/** The forwards of the container in `dir`, published first; none when it has no network of its own. */
export function readPorts(dir: string): PortForward[] {
  const auto = labelForwards(readJson<PortForward[]>(dir, AUTO_PORTS_FILE) ?? [], readJson<PortAttributeRules>(dir, PORT_ATTRIBUTES_FILE));
  return [...(readJson<PortForward[]>(dir, PUBLISHED_PORTS_FILE) ?? []), ...auto];
}

/**
 * The ports a container publishes as `docker port` and `ps` show them: while it runs, those its start
 * published (a port given without a host port has the one picked then); otherwise those with a fixed host port.
 */
export function publishedPorts(dir: string, running: boolean, publish: readonly PortMapping[]): PortMapping[] {
  if (!running) return publish.filter((p) => p.hostPort !== 0);
  return readPorts(dir)
    .filter((f) => f.origin === 'publish')
    .map(({ hostIp, hostPort, containerPort, protocol }) => ({ hostIp, hostPort, containerPort, protocol }));
}

/** Where a running container is on each devbox network it joined (networks.json, written at its start and by connect). */
export type JoinedNetworks = Record<
  string,
  { address: string; gateway: string; prefix: number; address6?: string; gateway6?: string; prefix6?: number; ifname?: string; defaultRoute?: boolean }
>;

/** The networks' owner a running container's user namespace was made in (network-owner.json): connect needs the same. */
export interface NetworkOwnerRecord {
  pid: number;
  start: string;
}

export function writeNetworkOwner(dir: string, owner: NetworkOwnerRecord): void {
  writeJson(join(dir, NETWORK_OWNER_FILE), { pid: owner.pid, start: owner.start });
}

export function readNetworkOwner(dir: string): NetworkOwnerRecord | undefined {
  return readJson<NetworkOwnerRecord>(dir, NETWORK_OWNER_FILE);
}

export function writeJoinedNetworks(dir: string, joined: JoinedNetworks): void {
  writeJson(join(dir, JOINED_NETWORKS_FILE), joined);
}

export function readJoinedNetworks(dir: string): JoinedNetworks {
  try {
    return JSON.parse(readFileSync(join(dir, JOINED_NETWORKS_FILE), 'utf8')) as JoinedNetworks;
  } catch {
    return {}; // not on a network, or not started since devbox wrote it
  }
}
