/**
 * The side of the helper's --confine (native/confine.c) that runs in the confined command: asking to be
 * confined once everything is loaded, then the fsops Node.js cannot do itself, over the control socket on
 * fd 3. Synchronous, like the extraction that uses it: a request is a handful of system calls.
 */
import { readSync, writeSync } from 'node:fs';
import { type FsOp, fsOpArgs } from './fsops.js';

const CONTROL_FD = 3;

function writeAll(data: Buffer): void {
  for (let off = 0; off < data.length; ) off += writeSync(CONTROL_FD, data, off);
}

function readExactly(length: number): Buffer {
  const buffer = Buffer.alloc(length);
  for (let off = 0; off < length; ) {
    const n = readSync(CONTROL_FD, buffer, off, length - off, null);
    if (n === 0) throw new Error('the helper closed the control socket');
    off += n;
  }
  return buffer;
}

/** One request: its words; the reply's text, or an Error with it. */
function request(words: readonly string[]): string {
  const payload = Buffer.concat(words.map((w) => Buffer.from(`${w}\0`)));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(payload.length);
  writeAll(Buffer.concat([head, payload]));
  const body = readExactly(readExactly(4).readUInt32LE());
  const text = body.subarray(1).toString();
  if (body[0] !== 0x30) throw new Error(text);
  return text;
}

/**
 * From now on "/" is the directory given to --confine, and nothing else of the host's file system can be
 * reached. Every module the process needs must be loaded before: nothing can be loaded after.
 */
export function enterConfinement(): void {
  request(['confine']);
}

/** applyFsOps (runtime/fsops.ts) for a confined process: the helper does them, on paths inside the directory. */
export async function confinedFsOps(ops: readonly FsOp[]): Promise<void> {
  request(['fsops', ...ops.flatMap(fsOpArgs)]);
}
