/**
 * Running a program as root of a new user namespace (and mount namespace) that keeps the host's file system:
 * the helper's `--no-pivot` mode. This is how layers are unpacked, copied and removed with their ownership in
 * the mapped range, and how devbox asks the kernel what it allows (a user namespace, an overlay mount in one).
 */
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import type { IdMapping } from '../userns/idmap.js';
import { execCapture, type CaptureResult } from '../util/exec.js';
import { helperPath, idMapArgs } from './helper.js';
import { rootfsArgs, type OverlayLayout } from './spec.js';

export interface UserNamespaceRunOptions {
  input?: Readable | string | Buffer;
  allowFailure?: boolean;
  /**
   * The one directory the command may see and write, once it asks (runtime/confinement.ts): the helper's
   * --confine. The command starts on the host's file system, so that it can load its code first.
   */
  confine?: string;
}

/** Runs `command` as root of a new user namespace with this mapping, on the host's file system. */
export function runInUserNamespace(mapping: IdMapping, command: readonly string[], options: UserNamespaceRunOptions = {}): Promise<CaptureResult> {
  const confine = options.confine ? ['--confine', options.confine] : [];
  return execCapture(helperPath(), [...idMapArgs(mapping), '--no-pivot', ...confine, '--', ...command], options);
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
