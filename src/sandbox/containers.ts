/**
 * Files of a container's or a live sandbox's directory that its sandbox sees: the files bound over
 * /etc/hosts, /etc/hostname (and /etc/resolv.conf with slirp4netns), and its port forwards for `devbox ports`:
 * ports.json, the published ones (written when it starts), and auto-ports.json, the auto-forwarded ones (kept
 * by the port watcher while it runs, network/auto-forward.ts), labelled by port-attributes.json (a project's
 * portsAttributes). The container's records are src/container/'s.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUTO_PORTS_FILE } from '../network/auto-forward.js';
import type { PortAttributeRules } from '../network/options.js';
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

/** Forgets the forwards of an earlier start. */
export function clearPorts(dir: string): void {
  for (const file of [PUBLISHED_PORTS_FILE, AUTO_PORTS_FILE, PORT_ATTRIBUTES_FILE]) rmSync(join(dir, file), { force: true });
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
