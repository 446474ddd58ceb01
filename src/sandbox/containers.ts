/**
 * A container's directory in the store: containers/<id>/ holds its writable layer (upper, work), the
 * mountpoint (merged) or private copy (rootfs), the files bound over /etc/hosts and /etc/hostname, and
 * state.json while it runs (the image store reads it to refuse removing an image in use).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DevboxError } from '../util/errors.js';

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

export function createContainerDir(storeRoot: string): ContainerDir {
  const id = randomBytes(32).toString('hex');
  const dir = join(storeRoot, 'containers', id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { id, dir };
}

/** /etc/hosts and /etc/hostname for the container, as Docker writes them. */
export function writeNameFiles(container: ContainerDir, hostname: string): { hosts: string; hostname: string } {
  const hosts = join(container.dir, 'hosts');
  const name = join(container.dir, 'hostname');
  writeFileSync(hosts, `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`);
  writeFileSync(name, `${hostname}\n`);
  return { hosts, hostname: name };
}

export function writeState(container: ContainerDir, state: ContainerState): void {
  const path = join(container.dir, 'state.json');
  // temp + rename: a reader never sees a half-written file
  writeFileSync(`${path}.tmp`, JSON.stringify(state));
  renameSync(`${path}.tmp`, path);
}

export interface ContainerSummary extends ContainerState {
  running: boolean;
  dir: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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

/** Finds containers by full id or unique prefix. */
export function findContainer(containers: readonly ContainerSummary[], ref: string): ContainerSummary {
  const matches = containers.filter((c) => c.id.startsWith(ref));
  if (matches.length === 1 && ref.length >= 1) return matches[0];
  throw new DevboxError(matches.length ? `container id prefix "${ref}" is ambiguous` : `no such container "${ref}"`, { fix: 'see "devbox ps -a"' });
}
