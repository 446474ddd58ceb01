/**
 * Starting sandboxes through the native helper: in the foreground (a run, a build step), detached and kept
 * up for later joins (a project's live sandbox), and joining one. Both starts speak the helper's --sync-fd
 * handshake here, so the caller can attach something (slirp4netns) before anything runs inside.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import type { Socket } from 'node:net';
import { execCapture, execForeground, type ForegroundChild, spawnBeside, startForeground, type CaptureResult } from '../util/exec.js';
import { helperPath } from './helper.js';
import type { SecuritySpec } from './security.js';
import { helperArgs, joinArgs, keepAliveArgs, type LiveSandboxSpec, type ProcessSpec, type SandboxSpec } from './spec.js';

/** A sandbox whose namespaces exist and in which nothing runs yet. */
export interface StartingSandbox {
  /** Its pid 1, as this process sees it. */
  pid: number;
  /** The helper that supervises it. */
  supervisorPid: number;
  /** Hangs up when the sandbox's pid 1 exits (hand it to programs that must end with the sandbox). */
  lifetime: Socket;
}

/**
 * Runs once the sandbox's namespaces exist and before its file systems are set up or anything runs in it
 * (slirp4netns attaches here). If it throws, the sandbox is ended and the start throws that.
 */
export type BeforeStart<T> = (sandbox: StartingSandbox) => Promise<T>;

/** The helper's --sync-fd, the first descriptor after the standard streams. */
export const SYNC_FD = 3;

/**
 * The helper's first line on the sync socket: pid 1's pid, and slirp4netns's when the helper started it
 * (--slirp4netns); `slirp4netns-failed` when that ended before the network was up (the helper then ends,
 * having started nothing). Undefined when the helper ended first (it said why).
 */
export type SyncReport = { pid: number; outbound?: number } | 'slirp4netns-failed';

export function readSyncReport(sync: Socket): Promise<SyncReport | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!text.includes('\n')) return;
      sync.off('data', onData);
      sync.pause();
      const line = text.slice(0, text.indexOf('\n'));
      if (line === 'slirp4netns-failed') return resolve(line);
      const [pid, outbound] = line.split(' ').map(Number);
      resolve(outbound ? { pid: pid!, outbound } : { pid: pid! });
    };
    sync.on('data', onData);
    sync.once('close', () => resolve(undefined));
    sync.on('error', () => resolve(undefined));
  });
}

/** The sandbox's pid from the helper's first line, or undefined when the helper ended first (it said why). */
export async function readPid(sync: Socket): Promise<number | undefined> {
  const report = await readSyncReport(sync);
  return typeof report === 'object' ? report.pid : undefined;
}

/**
 * The --sync-fd handshake: the helper announces pid 1, `beforeStart` runs, one byte lets the sandbox go on.
 * Undefined when the helper ended before announcing (it said why on its stderr). `ended` settles when the
 * helper exits.
 */
async function handshake<T>(
  sync: Socket,
  supervisorPid: number,
  ended: Promise<unknown>,
  beforeStart: BeforeStart<T>,
): Promise<{ pid: number; attached: T } | undefined> {
  const pid = await readPid(sync);
  if (pid === undefined) return undefined;
  let attached: T;
  try {
    attached = await beforeStart({ pid, supervisorPid, lifetime: sync });
  } catch (error) {
    sync.destroy(); // the helper reads end of file, gives up and takes the sandbox down: nothing was started
    await ended;
    throw error;
  }
  // The go byte; then only the sandbox's pid 1 (and whoever beforeStart gave the socket to) holds it.
  await new Promise<void>((resolve) => sync.write('g', () => resolve()));
  sync.destroy();
  return { pid, attached };
}

export interface LaunchOptions {
  /** `inherit` to give the sandbox devbox's stdin (-i), `ignore` for /dev/null. */
  stdin: 'inherit' | 'ignore';
  beforeStart?: BeforeStart<void>;
  /** File descriptor for the sandbox's stdout and stderr (a build's log); devbox's own by default. */
  output?: number;
}

/** Runs the sandbox in the foreground (devbox passes signals on) and resolves with its exit status. */
export async function launchSandbox(spec: SandboxSpec, options: LaunchOptions): Promise<number> {
  const output = options.output ?? 'inherit';
  if (!options.beforeStart) return execForeground(helperPath(), helperArgs(spec), [options.stdin, output, output]);
  const { child, exit } = startForeground(helperPath(), helperArgs(spec, SYNC_FD), [options.stdin, output, output, 'pipe']);
  await handshake(child.stdio[SYNC_FD] as Socket, child.pid!, exit, options.beforeStart);
  return exit;
}

export interface KeepAliveOptions<T> {
  /** The helper's working directory. */
  cwd: string;
  /** File descriptor for the helper's messages (why the sandbox failed to start, or ended). */
  log: number;
  beforeStart?: BeforeStart<T>;
}

export interface LiveSandboxStart<T> {
  /** Host pid of the sandbox's pid 1 (what is joined). */
  pid: number;
  /** Host pid of the helper that supervises it: SIGTERM to it ends the sandbox. */
  supervisorPid: number;
  /** What beforeStart returned. */
  attached?: T;
}

/** The stream's whole text, once it ends. */
function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (text += chunk));
    stream.once('end', () => resolve(text));
  });
}

/**
 * Starts a sandbox that stays up with no command (--keep-alive). Until the go byte the helper dies with this
 * process: a sandbox outlives it only once `beforeStart` has recorded it (devbox stop finds it there, whatever
 * moment this command dies at). Resolves once it is up and joinable; undefined when the helper ended first
 * (its log says why). If anything fails the helper ends and takes the sandbox with it.
 */
export async function startLiveSandbox<T>(spec: LiveSandboxSpec, options: KeepAliveOptions<T>): Promise<LiveSandboxStart<T> | undefined> {
  const child = spawn(helperPath(), keepAliveArgs(spec, SYNC_FD), { cwd: options.cwd, detached: true, stdio: ['ignore', 'pipe', options.log, 'pipe'] });
  const ended = new Promise<void>((resolve, reject) => {
    child.once('exit', () => resolve());
    child.once('error', reject);
  });
  ended.catch(() => {}); // a spawn failure: thrown by the `await ended` below
  const announced = readAll(child.stdout!);
  const started = await handshake(child.stdio[SYNC_FD] as Socket, child.pid!, ended, options.beforeStart ?? (async () => undefined));
  // The helper writes pid 1's host pid on stdout once the sandbox is joinable, then closes it.
  if (!started || Number((await announced).trim()) !== started.pid) {
    await ended;
    return undefined;
  }
  child.unref();
  return { pid: started.pid, supervisorPid: child.pid!, attached: started.attached as T | undefined };
}

/**
 * The program and arguments (argv[0] included) that run a process, confined by `security`, in the live sandbox
 * whose pid 1 has this host pid; `cgroup`: the container's own, which the process joins (runtime/cgroups.ts).
 */
export function joinCommand(pid: number, process: ProcessSpec, security: SecuritySpec, cgroup?: string): string[] {
  return [helperPath(), ...joinArgs(pid, process, security, cgroup)];
}

/** Runs a joinCommand in the foreground; resolves with its exit status. `output: 'stderr'` sends its stdout to devbox's stderr. */
export function runJoinCommand(command: readonly string[], stdin: 'inherit' | 'ignore', output: 'stdout' | 'stderr' = 'stdout'): Promise<number> {
  const [file, ...args] = command;
  return execForeground(file, args, [stdin, output === 'stdout' ? 'inherit' : 2, 'inherit']);
}

export function joinSandbox(
  pid: number,
  process: ProcessSpec,
  security: SecuritySpec,
  stdin: 'inherit' | 'ignore',
  output: 'stdout' | 'stderr' = 'stdout',
  cgroup?: string,
): Promise<number> {
  return runJoinCommand(joinCommand(pid, process, security, cgroup), stdin, output);
}

/**
 * Starts a process in the live sandbox and leaves it running (it outlives devbox); its output goes to `log`
 * (default: nowhere).
 */
export async function startInSandbox(
  pid: number,
  process: ProcessSpec,
  security: SecuritySpec,
  options: { cwd?: string; log?: number; cgroup?: string } = {},
): Promise<void> {
  const output = options.log ?? 'ignore';
  await spawnBeside(helperPath(), joinArgs(pid, process, security, options.cgroup), {
    cwd: options.cwd ?? '/',
    stdio: ['ignore', output, output],
    detached: true,
  });
}

/**
 * Spawns a container's supervisor (the helper with `--container`; `args` from spec.ts's containerArgs): with
 * `detach` in a session of its own that outlives devbox, otherwise as devbox's child with signals forwarded.
 */
export function spawnContainerSupervisor(args: readonly string[], options: { detach: boolean; cwd: string; stdio: StdioOptions }): ForegroundChild {
  if (!options.detach) return startForeground(helperPath(), args, options.stdio, { cwd: options.cwd });
  const child = spawn(helperPath(), args, { cwd: options.cwd, detached: true, stdio: options.stdio });
  const exit = new Promise<number>((resolve) => {
    child.once('exit', (code) => resolve(code ?? 125));
    child.once('error', () => resolve(125));
  });
  return { child, exit };
}

/** Runs a process in the live sandbox and captures its output; a status other than 0 is the caller's to judge. */
export function captureInSandbox(pid: number, process: ProcessSpec, security: SecuritySpec, timeoutMs: number): Promise<CaptureResult> {
  return execCapture(helperPath(), joinArgs(pid, process, security), { allowFailure: true, timeoutMs });
}
