/**
 * The native helper (native/devbox-helper) as seen from TypeScript: where it is, how a user namespace is
 * described on its command line, and running a program inside a user namespace with the host's file system
 * (`--no-pivot`), which is how layers are unpacked, copied and removed with their ownership in the mapped range.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { DevboxError } from '../util/errors.js';
import { execCapture, type CaptureResult } from '../util/exec.js';
import { formatIdMap, type IdMapping } from './idmap.js';

/** Exit status the helper uses when it could not set the sandbox up (as `docker run` does). */
export const HELPER_SETUP_FAILED = 125;

let cachedPath: string | undefined;

/** Absolute path of the built helper binary. */
export function helperPath(): string {
  if (cachedPath) return cachedPath;
  const path = fileURLToPath(new URL('../../../native/devbox-helper', import.meta.url));
  if (!existsSync(path)) {
    throw new DevboxError(`the native helper is not built: ${path} is missing`, {
      fix: 'run "npm run build" in the devbox checkout (needs a C compiler and libseccomp: apt-get install gcc make libseccomp-dev)',
    });
  }
  cachedPath = path;
  return path;
}

/** Helper options that create the user namespace with this mapping. */
export function userNamespaceArgs(mapping: IdMapping): string[] {
  return ['--uid-map', formatIdMap(mapping.uidMap), '--gid-map', formatIdMap(mapping.gidMap)];
}

export interface UserNamespaceRunOptions {
  input?: Readable | string | Buffer;
  allowFailure?: boolean;
  /**
   * The one directory the command may see and write, once it asks (userns/confinement.ts): the helper's
   * --confine. The command starts on the host's file system, so that it can load its code first.
   */
  confine?: string;
}

/** Runs `command` as root of a new user namespace (and mount namespace) that keeps the host's file system. */
export function runInUserNamespace(mapping: IdMapping, command: readonly string[], options: UserNamespaceRunOptions = {}): Promise<CaptureResult> {
  const confine = options.confine ? ['--confine', options.confine] : [];
  return execCapture(helperPath(), [...userNamespaceArgs(mapping), '--no-pivot', ...confine, '--', ...command], options);
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

/**
 * File-system operations Node.js has no API for (whiteout device nodes, FIFOs, extended attributes), done by
 * the helper's `fsops` mode. Called from a process already inside the user namespace.
 */
export type FsOp = { op: 'whiteout'; path: string } | { op: 'fifo'; path: string; mode: number } | { op: 'xattr'; path: string; name: string; value: Buffer };

/** The words of one operation on the helper's `fsops` command line. */
export function fsOpArgs(op: FsOp): string[] {
  switch (op.op) {
    case 'whiteout':
      return ['whiteout', op.path];
    case 'fifo':
      return ['fifo', op.path, (op.mode & 0o7777).toString(8)];
    case 'xattr':
      return ['xattr', op.path, op.name, op.value.toString('hex')];
  }
}

/** Keeps each helper command line well below the kernel's argument size limit. */
const FSOPS_ARG_BYTES = 256 * 1024;

/** Runs `fsops` with the argument groups in batches that fit a command line; returns what each printed. */
async function runFsOps(groups: readonly string[][]): Promise<string> {
  let output = '';
  let batch: string[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length) output += (await execCapture(helperPath(), ['fsops', ...batch])).stdout;
    batch = [];
    bytes = 0;
  };
  for (const args of groups) {
    const size = args.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
    if (bytes + size > FSOPS_ARG_BYTES) await flush();
    batch.push(...args);
    bytes += size;
  }
  await flush();
  return output;
}

export async function applyFsOps(ops: readonly FsOp[]): Promise<void> {
  await runFsOps(ops.map(fsOpArgs));
}

/**
 * Writes back everything on the file system that holds `dir` (syncfs(2), which Node.js lacks): one flush for
 * a whole unpacked layer, where an fsync per file costs a disk cache flush each. Needs no user namespace.
 */
export async function syncFileSystem(dir: string): Promise<void> {
  await execCapture(helperPath(), ['fsops', 'syncfs', dir]);
}

/** Extended attributes of each path (symlinks not followed), as root of the user namespace sees them. */
export async function readXattrs(paths: readonly string[]): Promise<Map<string, { name: string; value: Buffer }[]>> {
  const found = new Map<string, { name: string; value: Buffer }[]>();
  const output = await runFsOps(paths.map((p) => ['xattrs', p]));
  for (const line of output.split('\n')) {
    if (!line) continue;
    const [path, name, value] = line.split(' ').map((hex) => Buffer.from(hex, 'hex'));
    const key = path.toString();
    found.set(key, [...(found.get(key) ?? []), { name: name.toString(), value }]);
  }
  return found;
}
