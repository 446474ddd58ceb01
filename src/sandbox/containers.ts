/**
 * Files of a container's or a live sandbox's directory that its sandbox sees: the files bound over
 * /etc/hosts, /etc/hostname (and /etc/resolv.conf with slirp4netns), and ports.json, its port forwards for
 * `devbox ports`. The container's records are src/container/'s.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PortMapping } from '../network/port-mapping.js';
import type { PortForward } from '../network/sandbox-network.js';
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

/** `dir`: a container's or a live sandbox's directory. */
export function writePorts(dir: string, forwards: readonly PortForward[]): void {
  writeJson(join(dir, 'ports.json'), forwards);
}

/** The forwards of the container in `dir`; none when it has no network of its own. */
export function readPorts(dir: string): PortForward[] {
  try {
    return JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8')) as PortForward[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new DevboxError(`cannot read the ports of the container in ${dir}: ${describeError(error)}`);
  }
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

/** Where a running container is on each devbox network it joined (networks.json, written at its start). */
export type JoinedNetworks = Record<string, { address: string; gateway: string; prefix: number }>;

export function writeJoinedNetworks(dir: string, joined: JoinedNetworks): void {
  writeJson(join(dir, 'networks.json'), joined);
}

export function readJoinedNetworks(dir: string): JoinedNetworks {
  try {
    return JSON.parse(readFileSync(join(dir, 'networks.json'), 'utf8')) as JoinedNetworks;
  } catch {
    return {}; // not on a network, or not started since devbox wrote it
  }
}
