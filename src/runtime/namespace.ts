/**
 * Running a program as root of a new user namespace (and mount namespace) that keeps the host's file system:
 * the helper's `--no-pivot` mode. This is how layers are unpacked, copied and removed with their ownership in
 * the mapped range, and how devbox asks the kernel what it allows (a user namespace, an overlay mount in one).
 */
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import type { IdMapping } from '../userns/idmap.js';
import { execCapture, spawnBeside, type CaptureResult, type ChildProcess } from '../util/exec.js';
import { helperPath, idMapArgs } from './helper.js';
import { readPid, SYNC_FD } from './launch.js';
import { rootfsArgs, type OverlayLayout } from './spec.js';

export interface UserNamespaceRunOptions {
  input?: Readable | string | Buffer;
  allowFailure?: boolean;
  /**
   * The one directory the helper's layer extractor (`layer …`, with `archive`) may see and write: its
   * --confine, the root of the cell it is in before it reads a byte (native/confine.c).
   */
  confine?: string;
  /** The command is one of the helper's own operations (--archive), not a program: with `confine`, `layer`. */
  archive?: boolean;
}

/** Runs `command` as root of a new user namespace with this mapping, on the host's file system. */
export function runInUserNamespace(mapping: IdMapping, command: readonly string[], options: UserNamespaceRunOptions = {}): Promise<CaptureResult> {
  const confine = options.confine ? ['--confine', options.confine] : [];
  const archive = options.archive ? ['--archive'] : [];
  return execCapture(helperPath(), [...idMapArgs(mapping), '--no-pivot', ...confine, ...archive, '--', ...command], options);
}

/** Runs a Node.js script of ours inside the user namespace (see runInUserNamespace). */
export function runNodeInUserNamespace(
  mapping: IdMapping,
  script: URL,
  args: readonly string[],
  options: UserNamespaceRunOptions = {},
): Promise<CaptureResult> {
  return runInUserNamespace(mapping, [process.execPath, fileURLToPath(script), ...args], options);
}

/** What a probe found: the kernel (or newuidmap) allowed it, or its one-line reason. */
export type ProbeResult = { ok: true } | { ok: false; reason: string };

async function probe(args: readonly string[]): Promise<ProbeResult> {
  const result = await execCapture(helperPath(), args, { allowFailure: true });
  if (result.exitCode === 0) return { ok: true };
  return { ok: false, reason: result.stderr.trim().split('\n').pop() || `helper exit status ${result.exitCode}` };
}

/** Whether a user namespace with this mapping can be created (its id maps written), and nothing else. */
export function probeUserNamespace(mapping: IdMapping): Promise<ProbeResult> {
  return probe([...idMapArgs(mapping), '--no-pivot']);
}

/** Whether kernel overlayfs can be mounted in a user namespace with this mapping (mounted, then let go). */
export function probeOverlayMount(mapping: IdMapping, layout: OverlayLayout): Promise<ProbeResult> {
  return probe([...idMapArgs(mapping), '--no-pivot', ...rootfsArgs({ kind: 'overlay', ...layout })]);
}

/** A program started as root of a new user and network namespace, before it runs (see spawnNetworkNamespace). */
export interface StartingNamespace {
  /** Its pid, as this process sees it: what slirp4netns and nested sandboxes (--userns-of) name. */
  pid: number;
  /** The helper: the program's parent, which ends with it. */
  helper: ChildProcess;
  /** A socket whose other end the program (and the helper) hold until they end: slirp4netns's --exit-fd. */
  lifetime: Socket;
  /** The program's stdout. */
  stdout: Readable;
  /** Lets the program run; from then on it outlives this process. */
  go(): Promise<void>;
}

/**
 * Starts `command` as root of a new network namespace, on the host's file system, detached, in a new user
 * namespace with `userns.mapping` (the devbox networks' owner) or in the user namespace of `userns.of`,
 * entered (a network's holder, in the owner's). It waits for go() (the helper's --sync-fd), so that the
 * caller can attach slirp4netns first; until then it dies with this process. fd 4 of the program is the
 * other end of `lifetime`. Undefined when the helper failed before the program was made (`log` says why).
 */
export async function spawnNetworkNamespace(
  userns: { mapping: IdMapping } | { of: number },
  command: readonly string[],
  options: { cwd: string; log: number; env?: NodeJS.ProcessEnv },
): Promise<StartingNamespace | undefined> {
  const namespace = 'of' in userns ? ['--userns-of', String(userns.of)] : idMapArgs(userns.mapping);
  const args = [...namespace, '--no-pivot', '--unshare-net', '--sync-fd', String(SYNC_FD), '--', ...command];
  const helper = await spawnBeside(helperPath(), args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', options.log, 'pipe', 'pipe'],
    detached: true,
  });
  const sync = helper.stdio[SYNC_FD] as Socket;
  const pid = await readPid(sync);
  if (pid === undefined) return undefined;
  return {
    pid,
    helper,
    lifetime: helper.stdio[4] as Socket,
    stdout: helper.stdout as Readable,
    go: async () => {
      await new Promise<void>((resolve) => sync.write('g', () => resolve()));
      sync.destroy();
    },
  };
}
