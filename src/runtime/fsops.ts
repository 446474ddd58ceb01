/**
 * File-system operations Node.js has no API for (whiteout device nodes, FIFOs, extended attributes, syncfs),
 * done by the helper's `fsops` mode. The operations that create files are called from a process already root
 * of the user namespace (an unpack, copy or layer worker), so what they create belongs to the mapped ids;
 * removing trees starts the helper as root of a new one itself.
 */
import type { IdMapping } from '../userns/idmap.js';
import { inArgBatches } from '../util/arg-batches.js';
import { execCapture } from '../util/exec.js';
import { helperPath } from './helper.js';
import { runInUserNamespace } from './namespace.js';

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

/** Runs `fsops` with the operations in batches that fit a command line; returns what they printed. */
async function runFsOps(groups: readonly string[][]): Promise<string> {
  const outputs = await inArgBatches(groups, async (args) => (await execCapture(helperPath(), ['fsops', ...args])).stdout);
  return outputs.join('');
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

/**
 * Removes each tree (absolute paths, not "/") as root of a user namespace with this mapping: every entry the
 * helper can remove goes, fd-relative and never following a symlink. Returns the last failure the helper
 * reported, or undefined when everything went.
 */
export async function removeTreesInUserNamespace(mapping: IdMapping, paths: readonly string[]): Promise<string | undefined> {
  const failures = await inArgBatches(
    paths.map((p) => ['remove', p]),
    async (ops) => {
      const result = await runInUserNamespace(mapping, [helperPath(), 'fsops', ...ops], { allowFailure: true });
      return result.exitCode === 0 ? undefined : result.stderr.trim().split('\n').pop() || `exit status ${result.exitCode}`;
    },
  );
  return failures.filter((f) => f !== undefined).pop();
}
