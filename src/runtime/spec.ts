/**
 * One typed description of a sandbox to run, and its translation into the native helper's argv.
 * Pure: everything here is unit-tested without namespaces.
 */
import type { IdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import { idMapArgs } from './helper.js';
import { rlimitArgs, type Ulimit } from './rlimits.js';
import { capabilityArgs, pathSecurityArgs, processSecurityArgs, type SecuritySpec } from './security.js';

/** An overlay's directories; lower dirs bottom layer first, as the image manifest lists layers. */
export interface OverlayLayout {
  lowerDirs: string[];
  upperDir: string;
  workDir: string;
  mountpoint: string;
}

/** How the root file system is assembled (see storage/). */
export type RootfsSpec =
  | ({ kind: 'overlay' } & OverlayLayout)
  | ({ kind: 'fuse-overlay'; program: string } & OverlayLayout)
  | { kind: 'directory'; dir: string };

/** Docker's propagation modes a rootless bind can have (the shared ones cannot reach the host). */
export type BindPropagation = 'private' | 'rprivate' | 'slave' | 'rslave';

export interface BindMount {
  source: string;
  /** Absolute path inside the sandbox. */
  destination: string;
  readonly: boolean;
  /** Unset: what the helper gives every bind (rslave: the host's later mounts under it show inside). */
  propagation?: BindPropagation;
}

export interface TmpfsMount {
  /** Absolute path inside the sandbox. */
  destination: string;
  /** As mount(8) takes them: flags (`ro`, `nosuid`, `noexec` …) and tmpfs options (`size=…`, `mode=…`). */
  options: string[];
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
  /** Resource limits set before it runs (--ulimit); absent: the caller's. */
  rlimits?: Ulimit[];
}

export interface SandboxSpec {
  idMapping: IdMapping;
  rootfs: RootfsSpec;
  mounts: BindMount[];
  /** Fresh tmpfs mounts; with the binds, mounted parents first (Docker's order), whatever the order given. */
  tmpfs?: TmpfsMount[];
  hostname: string;
  /**
   * `none` gives the sandbox its own network namespace with only loopback; so does `slirp4netns`, whose
   * caller attaches slirp4netns to it before it starts (launch.ts `beforeStart`).
   */
  network: 'host' | 'none' | 'slirp4netns';
  /**
   * Made inside this process's user namespace (a devbox network's holder, or the container whose network
   * is shared): `idMapping` is then said in that namespace's ids (userns/idmap.ts nestIdMap). `shareNet`:
   * join its network namespace rather than make one (--network container:NAME).
   */
  nestIn?: { pid: number; shareNet: boolean };
  process: ProcessSpec;
  /** Deleted by the helper, inside the user namespace, once the sandbox has ended (`run --rm`). */
  removeAfterExit?: string;
  /** Keep the root file system's /tmp instead of a fresh tmpfs: a build step's /tmp is part of the image. */
  imageTmp?: boolean;
  /** Capabilities, seccomp filter, masked and read-only paths (runtime/security.ts). */
  security: SecuritySpec;
  /** The store's directory of compiled seccomp filters (security.ts processSecurityArgs); none: compiled each run. */
  seccompCache?: string;
  /** A cgroup v2 directory, limits written, that pid 1 joins before it starts (runtime/cgroups.ts). */
  cgroup?: string;
}

/** execve(2)'s limit on one argument or environment string, with its NUL (MAX_ARG_STRLEN: 32 pages). */
const MAX_ARG_BYTES = 32 * 4096;
/** Room for all of them together: ARG_MAX is a quarter of the stack limit, 2 MiB with the usual 8 MiB. */
const MAX_COMMAND_LINE_BYTES = 2 * 1024 * 1024;

/**
 * Why Linux would refuse to start this process (E2BIG), or undefined: checked before anything is started, so a
 * 10 MB RUN line is one clear line, not a spawn error. The helper passes every string on as an argument.
 */
export function commandLineProblem(command: Pick<ProcessSpec, 'args' | 'env'>): string | undefined {
  const strings = [...command.args, ...command.env];
  const longest = strings.reduce((a, b) => (Buffer.byteLength(b) > Buffer.byteLength(a) ? b : a), '');
  const size = (bytes: number) => `${Math.ceil(bytes / 1024)} KiB`;
  if (Buffer.byteLength(longest) + 1 > MAX_ARG_BYTES) {
    const what = command.env.includes(longest) ? `the environment variable ${longest.slice(0, longest.indexOf('='))}` : 'an argument of the command';
    return `${what} is ${size(Buffer.byteLength(longest))}, more than Linux takes in one (${size(MAX_ARG_BYTES)})`;
  }
  // The helper's own options (mounts, id maps) take a few KiB more.
  const total = strings.reduce((n, s) => n + Buffer.byteLength(s) + 1 + 8, 0);
  if (total > MAX_COMMAND_LINE_BYTES - 64 * 1024) {
    return `the command and its environment take ${size(total)}, more than Linux takes for a program's start (${size(MAX_COMMAND_LINE_BYTES)})`;
  }
  return undefined;
}

function checkCommandLine(process: ProcessSpec): void {
  const problem = commandLineProblem(process);
  if (problem) throw new DevboxError(problem, { fix: 'put long scripts and data in a file' });
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

/** The helper options that mount this root file system. */
export function rootfsArgs(rootfs: RootfsSpec): string[] {
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

const depth = (path: string) => path.split('/').filter(Boolean).length;

/** Binds and tmpfs mounts, shallower destinations first (a stable sort, as Docker's): a parent never hides a child. */
function mountArgs(binds: readonly BindMount[], tmpfs: readonly TmpfsMount[]): string[] {
  const items = [
    ...binds.map((b) => ({
      destination: b.destination,
      args: [b.readonly ? '--ro-bind' : '--bind', b.source, b.destination, ...(b.propagation ? ['--propagation', b.destination, b.propagation] : [])],
    })),
    ...tmpfs.map((t) => ({ destination: t.destination, args: ['--tmpfs', t.destination, t.options.join(',')] })),
  ];
  return items.sort((a, b) => depth(a.destination) - depth(b.destination)).flatMap((m) => m.args);
}

/** `syncFd`: the descriptor of the helper's --sync-fd. */
function sandboxArgs(spec: LiveSandboxSpec, syncFd?: number): string[] {
  const args = idMapArgs(spec.idMapping);
  if (spec.nestIn) args.push('--userns-of', String(spec.nestIn.pid), ...(spec.nestIn.shareNet ? ['--netns-of', String(spec.nestIn.pid)] : []));
  if (spec.network !== 'host' && !spec.nestIn?.shareNet) args.push('--unshare-net');
  if (syncFd !== undefined) args.push('--sync-fd', String(syncFd));
  args.push(...rootfsArgs(spec.rootfs));
  args.push(...mountArgs(spec.mounts, spec.tmpfs ?? []));
  args.push(...pathSecurityArgs(spec.security));
  if (spec.imageTmp) args.push('--image-tmp');
  args.push('--hostname', spec.hostname);
  if (spec.cgroup) args.push('--cgroup', spec.cgroup);
  return args;
}

function processArgs(p: ProcessSpec): string[] {
  const args = ['--chdir', p.cwd, '--uid', String(p.uid), '--gid', String(p.gid)];
  if (p.groups.length) args.push('--groups', p.groups.join(','));
  for (const entry of p.env) args.push('--setenv', ...envEntry(entry));
  if (p.terminal) args.push('--tty');
  args.push(...rlimitArgs(p.rlimits));
  return args;
}

/** The helper's command line for this sandbox; `syncFd`: the descriptor of the helper's --sync-fd. */
export function helperArgs(spec: SandboxSpec, syncFd?: number): string[] {
  checkCommandLine(spec.process);
  const args = [...sandboxArgs(spec, syncFd), ...processArgs(spec.process), ...processSecurityArgs(spec.security, spec.seccompCache)];
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

/** Runs a process in the live sandbox whose pid 1 has this host pid, confined as the sandbox's own processes; `cgroup`: the container's. */
export function joinArgs(pid: number, process: ProcessSpec, security: SecuritySpec, cgroup?: string): string[] {
  checkCommandLine(process);
  return ['--join', String(pid), ...(cgroup ? ['--cgroup', cgroup] : []), ...processArgs(process), ...processSecurityArgs(security), '--', ...process.args];
}

/** What the helper's supervisor of a container (--container) does besides running it: see native/README.md. */
export interface Supervision {
  /** The container's directory: state.json, the attach socket and its lock are there. */
  dir: string;
  /** Outlive the caller; the helper reports "up PID" on notifyFd once the command runs. */
  detach: boolean;
  notifyFd: number;
  /** Relay stdin (the caller's, or attach clients'). */
  interactive: boolean;
  log: { path: string; maxSize: number; maxFiles: number };
  events: string;
  restart: { name: 'no' | 'always' | 'unless-stopped' | 'on-failure'; maximumRetryCount: number };
  stopSignal: number;
  /** Byte values that detach the caller's terminal (with a terminal only). */
  detachKeys: number[];
  health?: { args: string[]; interval: number; timeout: number; startPeriod: number; startInterval: number; retries: number };
  /** Run (argv, absolute program) once the container is done for good and before the supervisor exits. */
  exitCommand?: string[];
  /**
   * slirp4netns, started by the helper while pid 1 sets up (with a sync fd): its command line, `{pid}` where
   * the helper puts pid 1's pid, and the file its messages go to. The helper reports its pid after pid 1's.
   */
  slirp4netns?: { command: string[]; log: string };
}

/** The helper's command line for a supervised container. */
export function containerArgs(spec: SandboxSpec, supervision: Supervision, syncFd?: number): string[] {
  const s = supervision;
  const args = ['--container', s.dir, '--notify-fd', String(s.notifyFd), '--log', s.log.path];
  args.push('--log-max-size', String(s.log.maxSize), '--log-max-files', String(s.log.maxFiles), '--events', s.events);
  if (s.detach) args.push('--detach');
  if (s.interactive) args.push('--interactive');
  const restart = s.restart.name === 'on-failure' && s.restart.maximumRetryCount ? `on-failure:${s.restart.maximumRetryCount}` : s.restart.name;
  args.push('--restart', restart, '--stop-signal', String(s.stopSignal));
  if (s.detachKeys.length && spec.process.terminal) args.push('--detach-keys', s.detachKeys.join(','));
  if (s.health) {
    const h = s.health;
    for (const arg of h.args) args.push('--health-cmd', arg);
    args.push('--health-interval', String(h.interval), '--health-timeout', String(h.timeout), '--health-start-period', String(h.startPeriod));
    args.push('--health-start-interval', String(h.startInterval), '--health-retries', String(h.retries));
  }
  for (const arg of s.exitCommand ?? []) args.push('--exit-command', arg);
  // The container's pid 1 sets up while the caller attaches its network; only the command waits for the go.
  if (syncFd !== undefined) args.push('--setup-during-sync');
  if (s.slirp4netns) {
    for (const arg of s.slirp4netns.command) args.push('--slirp4netns', arg);
    args.push('--slirp4netns-log', s.slirp4netns.log);
  }
  const sandbox = helperArgs(spec, syncFd);
  return [...args, ...sandbox];
}

/**
 * Auto-forward for the sandbox whose pid 1 has this host pid, on slirp4netns with its API socket in `dir`
 * (native/ports.c); `publishedPorts`: container ports published with -p, not forwarded again. The watcher
 * expects the sandbox's lifetime socket on descriptor 3 and keeps DIR/auto-ports.json.
 */
export function watchPortsArgs(dir: string, pid: number, excluded: readonly (number | [number, number])[]): string[] {
  return ['watch-ports', dir, String(pid), ...excluded.map((p) => (typeof p === 'number' ? String(p) : `${p[0]}-${p[1]}`))];
}
