/**
 * A container's directory in the store: containers/<id>/ holds its writable layer (upper, work), the
 * mountpoint (merged) or private copy (rootfs), the files bound over /etc/hosts, /etc/hostname (and
 * /etc/resolv.conf with slirp4netns), state.json while it runs (the image store reads it to refuse removing
 * an image in use), and ports.json: the sandbox's port forwards, for `devbox ports`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PortForward } from '../network/sandbox-network.js';
import type { BindMount } from '../runtime/spec.js';
import { DevboxError, describeError } from '../util/errors.js';
import { isAlive } from '../util/processes.js';

export interface ContainerState {
  id: string;
  image: string;
  /** While it runs: the pid of the devbox process waiting for it. */
  pid: number;
  created: string;
  /** Once it has ended (containers kept without --rm). */
  exitCode?: number;
}

export interface ContainerDir {
  id: string;
  dir: string;
}

/** A new container id (64 hex digits, as Docker's); nothing is created until createContainerDir. */
export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

export function createContainerDir(storeRoot: string, id: string): ContainerDir {
  const dir = join(storeRoot, 'containers', id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { id, dir };
}

export interface NameFiles {
  hosts: string;
  hostname: string;
  /** Only when the network has a resolver of its own. */
  resolvConf?: string;
}

/** /etc/hosts, /etc/hostname (and /etc/resolv.conf) for the container, as Docker writes them. */
export function writeNameFiles(container: ContainerDir, hostname: string, hostsEntries: readonly string[], resolvConf?: string): NameFiles {
  const files: NameFiles = { hosts: join(container.dir, 'hosts'), hostname: join(container.dir, 'hostname') };
  writeFileSync(files.hosts, ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', ...hostsEntries, ''].join('\n'));
  writeFileSync(files.hostname, `${hostname}\n`);
  if (resolvConf !== undefined) {
    files.resolvConf = join(container.dir, 'resolv.conf');
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

/** temp + rename: a reader in another process never sees a half-written file. */
function writeJson(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(value));
  renameSync(`${path}.tmp`, path);
}

export function writeState(container: ContainerDir, state: ContainerState): void {
  writeJson(join(container.dir, 'state.json'), state);
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

export interface ContainerSummary extends ContainerState {
  running: boolean;
  dir: string;
}

/** Every container in the store, newest first; one without a readable state is shown as exited (status -1). */
export function listContainers(storeRoot: string): ContainerSummary[] {
  const dir = join(storeRoot, 'containers');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((id): ContainerSummary => {
      const path = join(dir, id);
      try {
        const state = JSON.parse(readFileSync(join(path, 'state.json'), 'utf8')) as ContainerState;
        return { ...state, running: state.exitCode === undefined && isAlive(state.pid), dir: path };
      } catch {
        return { id, image: '', pid: 0, created: statSync(path).mtime.toISOString(), exitCode: -1, running: false, dir: path };
      }
    })
    .sort((a, b) => b.created.localeCompare(a.created));
}

/** Finds containers (or anything with an id, such as project sandboxes) by full id or unique prefix. */
export function findContainer<T extends { id: string }>(containers: readonly T[], ref: string): T {
  const matches = containers.filter((c) => c.id.startsWith(ref));
  if (matches.length === 1 && ref.length >= 1) return matches[0];
  throw new DevboxError(matches.length ? `container id prefix "${ref}" is ambiguous` : `no such container "${ref}"`, { fix: 'see "devbox ps -a"' });
}
