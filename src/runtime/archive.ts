/**
 * The helper's --archive operations (native/archive.c): a container's files as a tar stream, or a tar stream
 * into them, done by the helper inside the container's root, in a live sandbox (--join) or in a sandbox set up
 * for the copy (a stopped container). The tar flows through the helper's stdin/stdout.
 */
import type { Readable, Writable } from 'node:stream';
import { helperPath } from './helper.js';
import { DevboxError } from '../util/errors.js';
import { startForeground } from '../util/exec.js';
import { warn } from '../util/warn.js';
import { keepAliveArgs, type LiveSandboxSpec } from './spec.js';

/** Where the operation runs: the live sandbox whose pid 1 has this host pid, or a sandbox made for it. */
export type ArchiveTarget = { kind: 'live'; pid: number } | { kind: 'stopped'; sandbox: LiveSandboxSpec };

export type ArchiveOp =
  | { op: 'stat'; path: string }
  /** `name`: the archive name of the top entry; '' puts its children at the archive's root. */
  | { op: 'get'; path: string; name: string; follow: boolean; oneFileSystem: boolean }
  /** Everything extracted belongs to uid:gid (ids inside the container). */
  | { op: 'put'; path: string; uid: number; gid: number };

/** Exit status of `get` when its path does not exist. */
export const ARCHIVE_NOT_FOUND = 2;

function opArgs(op: ArchiveOp): string[] {
  switch (op.op) {
    case 'stat':
      return ['stat', op.path];
    case 'get':
      return ['get', ...(op.follow ? ['--follow'] : []), ...(op.oneFileSystem ? ['--one-file-system'] : []), op.path, op.name];
    case 'put':
      return ['put', op.path, String(op.uid), String(op.gid)];
  }
}

export function archiveArgs(target: ArchiveTarget, op: ArchiveOp): string[] {
  const where = target.kind === 'live' ? ['--join', String(target.pid)] : keepAliveArgs(target.sandbox).filter((a) => a !== '--keep-alive');
  return [...where, '--archive', '--', ...opArgs(op)];
}

/** A failed operation: the helper's status and its message (without the "devbox-helper: " prefix). */
export class ArchiveError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ArchiveProcess {
  stdin: Writable;
  stdout: Readable;
  /** Resolves once the helper exited 0; rejects with an ArchiveError otherwise. */
  done: Promise<void>;
}

export function startArchive(target: ArchiveTarget, op: ArchiveOp): ArchiveProcess {
  const { child, exit } = startForeground(helperPath(), archiveArgs(target, op), ['pipe', 'pipe', 'pipe']);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk;
    // Warnings (an entry that changed while it was read, a device left out) reach the user as they come.
    for (const line of chunk.toString().split('\n')) if (/left out$/.test(line)) warn(line.replace(/^devbox-helper: /, ''));
  });
  child.stdin!.on('error', () => {}); // an early exit shows in its status, not as EPIPE here
  const done = exit.then((status) => {
    if (status === 0) return;
    const lines = stderr
      .trim()
      .split('\n')
      .filter((l) => l && !/left out$/.test(l));
    const message = (lines.pop() ?? `status ${status}`).replace(/^devbox-helper: /, '');
    throw status === 125 ? new DevboxError(`cannot reach the container's files: ${message}`) : new ArchiveError(status, message);
  });
  done.catch(() => {}); // the caller awaits it; a copy abandoned early must not crash devbox as an unhandled rejection
  return { stdin: child.stdin!, stdout: child.stdout!, done };
}

export interface PathStat {
  mode: number;
  size: number;
  mtime: number;
  /** A symlink's target, as written. */
  linkTarget?: string;
}

/** `stat`: the path (a symlink itself), and for a symlink what it leads to inside the root (undefined: nothing). */
export async function statInContainer(target: ArchiveTarget, path: string): Promise<{ entry?: PathStat; resolved?: PathStat }> {
  const helper = startArchive(target, { op: 'stat', path });
  helper.stdin.end();
  let text = '';
  helper.stdout.on('data', (chunk) => (text += chunk));
  await helper.done;
  const parse = (line: string | undefined): PathStat | undefined => {
    if (!line || line === 'missing') return undefined;
    const [mode, size, mtime, link] = line.split(' ');
    return { mode: parseInt(mode, 8), size: Number(size), mtime: Number(mtime), ...(link === '-' ? {} : { linkTarget: Buffer.from(link, 'hex').toString() }) };
  };
  const [entry, resolved] = text.trim().split('\n');
  return { entry: parse(entry), resolved: parse(resolved) };
}
