/**
 * A container's directory in the store: containers/<id>/ holds its writable layer (upper, work), the
 * mountpoint (merged) or private copy (rootfs), the files bound over /etc/hosts and /etc/hostname, and
 * state.json while it runs (the image store reads it to refuse removing an image in use).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
