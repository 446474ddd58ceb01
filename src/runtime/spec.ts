/**
 * One typed description of a sandbox to run, and its translation into the native helper's argv.
 * Pure: everything here is unit-tested without namespaces.
 */
import { formatIdMap, type IdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import { capabilityArgs, pathSecurityArgs, processSecurityArgs, type SecuritySpec } from './security.js';

/** How the root file system is assembled (see storage/). Lower dirs are given bottom layer first. */
export type RootfsSpec =
  | { kind: 'overlay'; lowerDirs: string[]; upperDir: string; workDir: string; mountpoint: string }
  | { kind: 'fuse-overlay'; program: string; lowerDirs: string[]; upperDir: string; workDir: string; mountpoint: string }
  | { kind: 'directory'; dir: string };

export interface BindMount {
  source: string;
  /** Absolute path inside the sandbox. */
  destination: string;
  readonly: boolean;
}

export interface ProcessSpec {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  groups: number[];
  /** Allocate a pseudo-terminal for the process. */
  terminal: boolean;
}

export interface SandboxSpec {
  idMapping: IdMapping;
  rootfs: RootfsSpec;
  mounts: BindMount[];
  /** Paths inside that get an empty tmpfs, after the binds. */
  tmpfs?: string[];
  hostname: string;
  /**
   * `none` gives the sandbox its own network namespace with only loopback; so does `slirp4netns`, whose
   * caller attaches slirp4netns to it before it starts (launch.ts `beforeStart`).
   */
  network: 'host' | 'none' | 'slirp4netns';
  process: ProcessSpec;
  /** Deleted by the helper, inside the user namespace, once the sandbox has ended (`run --rm`). */
  removeAfterExit?: string;
  /** Keep the root file system's /tmp instead of a fresh tmpfs: a build step's /tmp is part of the image. */
  imageTmp?: boolean;
  /** Capabilities, seccomp filter, masked and read-only paths (runtime/security.ts). */
  security: SecuritySpec;
}

/** overlayfs lists lowerdirs topmost first; devbox keeps layers bottom first like the image manifest. */
function overlayLowers(lowerDirs: readonly string[]): string {
  for (const dir of lowerDirs) {
    // ':' separates lowerdirs and ',' separates mount options: such a path cannot be given to overlayfs.
    if (/[:,]/.test(dir)) {
      throw new DevboxError(`layer path ${dir} contains ':' or ',', which overlay mounts cannot take`, {
        fix: 'move the store to a path without them: devbox config set storageRoot DIR',
      });
    }
  }
  return [...lowerDirs].reverse().join(':');
}

function rootfsArgs(rootfs: RootfsSpec): string[] {
  switch (rootfs.kind) {
    case 'overlay':
      return ['--overlay', overlayLowers(rootfs.lowerDirs), rootfs.upperDir, rootfs.workDir, '--mountpoint', rootfs.mountpoint];
    case 'fuse-overlay':
      return ['--fuse-overlay', rootfs.program, overlayLowers(rootfs.lowerDirs), rootfs.upperDir, rootfs.workDir, '--mountpoint', rootfs.mountpoint];
    case 'directory':
      return ['--rootfs', rootfs.dir];
  }
}

function envEntry(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
}

/** A sandbox kept up with no command of its own, for processes that join it later (a project's sandbox). */
export type LiveSandboxSpec = Omit<SandboxSpec, 'process' | 'removeAfterExit'>;

/** `syncFd`: the descriptor of the helper's --sync-fd. */
function sandboxArgs(spec: LiveSandboxSpec, syncFd?: number): string[] {
  const args = ['--uid-map', formatIdMap(spec.idMapping.uidMap), '--gid-map', formatIdMap(spec.idMapping.gidMap)];
  if (spec.network !== 'host') args.push('--unshare-net');
  if (syncFd !== undefined) args.push('--sync-fd', String(syncFd));
  args.push(...rootfsArgs(spec.rootfs));
  for (const m of spec.mounts) args.push(m.readonly ? '--ro-bind' : '--bind', m.source, m.destination);
  for (const dest of spec.tmpfs ?? []) args.push('--tmpfs', dest);
  args.push(...pathSecurityArgs(spec.security));
  if (spec.imageTmp) args.push('--image-tmp');
  args.push('--hostname', spec.hostname);
  return args;
}

function processArgs(p: ProcessSpec): string[] {
  const args = ['--chdir', p.cwd, '--uid', String(p.uid), '--gid', String(p.gid)];
  if (p.groups.length) args.push('--groups', p.groups.join(','));
  for (const entry of p.env) args.push('--setenv', ...envEntry(entry));
  if (p.terminal) args.push('--tty');
  return args;
}

/** The helper's command line for this sandbox; `syncFd`: the descriptor of the helper's --sync-fd. */
export function helperArgs(spec: SandboxSpec, syncFd?: number): string[] {
  const args = [...sandboxArgs(spec, syncFd), ...processArgs(spec.process), ...processSecurityArgs(spec.security)];
  if (spec.removeAfterExit) args.push('--remove-after', spec.removeAfterExit);
  return [...args, '--', ...spec.process.args];
}

/**
 * Starts a live sandbox: the helper prints its pid 1's host pid once it is up. Its pid 1 keeps only the
 * sandbox's capabilities; the filter is for the processes that join it (joinArgs).
 */
export function keepAliveArgs(spec: LiveSandboxSpec, syncFd?: number): string[] {
  return [...sandboxArgs(spec, syncFd), ...capabilityArgs(spec.security), '--keep-alive'];
}

/** Runs a process in the live sandbox whose pid 1 has this host pid, confined as the sandbox's own processes. */
export function joinArgs(pid: number, process: ProcessSpec, security: SecuritySpec): string[] {
  return ['--join', String(pid), ...processArgs(process), ...processSecurityArgs(security), '--', ...process.args];
}
