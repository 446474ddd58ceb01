/**
 * The join record: what native/launcher.c replays to enter a project's live sandbox again without starting
 * Node.js (`devbox shell`, `devbox run CMD` from the same folder, with the same arguments and environment).
 * Written by an entry that only joined: the helper's command line it ran, and everything that command was made
 * from, each in a form the launcher checks with a stat(2) or a read of /proc — so a replay runs exactly what
 * this code would run, and any change sends the next entry here again. native/README.md has the format.
 *
 * What an entry is made from: the folder and arguments (the record's name and fields), the whole environment
 * (${localEnv:VAR}, the variables a terminal carries in, the proxies: a hash of all of it, so no variable can be
 * missed), whether stdin is a terminal, every file the entry read or whose absence counted, and the start times
 * of the sandbox's pid 1 and supervisor. A file changed while this process ran (or within a second before it:
 * time stamps are coarse) may have been read before the change: no record then.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync, type BigIntStats } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeFileAtomicSync } from '../util/atomic-write.js';

export const RECORD_MAGIC = 'devbox-join/1';

/** Records kept per user; more are pruned to half as many. */
const RECORDS_KEPT = 256;

/** Files a folder tree may hold for its entry to be recorded (each is a stat(2) at every replay). */
const TREE_LIMIT = 2000;

/** A file whose state the entry depended on: `stat` follows a symbolic link (as a read does), `lstat` does not. */
export interface Watched {
  path: string;
  follow: boolean;
}

export interface JoinRecord {
  cwd: string;
  /** devbox's own arguments, `shell` or `run` first. */
  commandLine: readonly string[];
  stdinIsTerminal: boolean;
  watched: readonly Watched[];
  /** The processes that must still be these ones (pid and /proc start time), the joined pid 1 first. */
  live: readonly { pid: number; start: string }[];
  /** The program and its arguments, argv[0] included. */
  command: readonly string[];
}

/** FNV-1a, 64 bits, as two 32-bit halves (BigInt arithmetic costs milliseconds per environment). */
export class Fnv1a64 {
  private hi = 0xcbf29ce4;
  private lo = 0x84222325;

  update(bytes: Uint8Array): this {
    for (const byte of bytes) {
      const lo = (this.lo ^ byte) >>> 0;
      // × (2^40 + 0x1b3) modulo 2^64: lo × 0x1b3 carries into hi, lo << 40 lands in hi as lo << 8.
      const low = lo * 0x1b3;
      const carry = Math.floor(low / 0x100000000);
      this.hi = (Math.imul(this.hi, 0x1b3) + carry + (lo << 8)) >>> 0;
      this.lo = low >>> 0;
    }
    return this;
  }

  hex(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }
}

const NUL = new Uint8Array(1);

/** Each string's UTF-8 bytes and a NUL after it: the launcher's hash, byte for byte. */
function hashStrings(strings: Iterable<string | Buffer>): string {
  const hash = new Fnv1a64();
  for (const s of strings) hash.update(typeof s === 'string' ? Buffer.from(s) : s).update(NUL);
  return hash.hex();
}

/** The environment's `KEY=VALUE` entries in byte order, as the launcher sorts environ. */
export function environmentHash(env: NodeJS.ProcessEnv): string {
  const entries = Object.entries(env).map(([k, v]) => Buffer.from(`${k}=${v}`));
  entries.sort(Buffer.compare);
  return hashStrings(entries);
}

/** Where records live: the user's cache, which only they may write (the launcher checks). */
export function joinRecordFolder(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(env.HOME || homedir(), '.cache');
  return join(cache, 'devbox', 'joins');
}

export function joinRecordName(cwd: string, commandLine: readonly string[], env: NodeJS.ProcessEnv): string {
  return `${hashStrings([cwd, ...commandLine])}-${environmentHash(env)}`;
}

/** "TYPE:INO:SIZE:MTIME_NS:CTIME_NS", or "-" when there is nothing: launcher.c's signature(). */
function signature(stats: BigIntStats | undefined): string {
  if (!stats) return '-';
  const type = stats.isFile() ? 'f' : stats.isDirectory() ? 'd' : stats.isSymbolicLink() ? 'l' : 'o';
  return `${type}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

function statOf(watched: Watched): BigIntStats | undefined {
  return (watched.follow ? statSync : lstatSync)(watched.path, { bigint: true, throwIfNoEntry: false });
}

/** A folder and everything in it, not following links (a change of any entry, an entry added or removed); undefined past TREE_LIMIT. */
export function watchedTree(root: string): Watched[] | undefined {
  return walkTree(root)?.watched;
}

function walkTree(root: string): { watched: Watched[]; links: boolean } | undefined {
  const watched: Watched[] = [{ path: root, follow: false }];
  const top = lstatSync(root, { throwIfNoEntry: false });
  let links = top?.isSymbolicLink() === true;
  const folders = top?.isDirectory() ? [root] : [];
  // The entries' types come with the listing: no lstat(2) per entry (it costs more than the listing here).
  for (let i = 0; i < folders.length; i++) {
    for (const entry of readdirSync(folders[i], { withFileTypes: true })) {
      const path = join(folders[i], entry.name);
      watched.push({ path, follow: false });
      if (entry.isDirectory()) folders.push(path);
      else if (entry.isSymbolicLink()) links = true;
    }
    if (watched.length > TREE_LIMIT) return undefined;
  }
  return { watched, links };
}

/**
 * What a build reads of its context: the context folder, everything below each of `prefixes` (paths in the
 * context, up to a COPY or ADD source's first wildcard: builder/sources.ts's sourcePrefix) and the folders on
 * the way to them. The whole context instead when a symbolic link is among them (a copy follows a source that
 * is one, to elsewhere in the context). Undefined past TREE_LIMIT.
 */
export function watchedSources(context: string, prefixes: readonly string[]): Watched[] | undefined {
  const watched = new Map<string, Watched>([[context, { path: context, follow: true }]]);
  for (const prefix of prefixes) {
    const parts = prefix.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const path = join(context, ...parts.slice(0, i));
      watched.set(path, { path, follow: false });
    }
    const tree = walkTree(join(context, prefix));
    if (!tree) return undefined;
    if (tree.links) return watchedTree(context);
    for (const w of tree.watched) watched.set(w.path, w);
    if (watched.size > TREE_LIMIT) return undefined;
  }
  return [...watched.values()];
}

/** Records of folders, commands and environments long gone: past RECORDS_KEPT, the least recently written go. */
function pruneRecords(folder: string): void {
  const names = readdirSync(folder);
  if (names.length < RECORDS_KEPT) return;
  const byAge = names.map((name) => ({ name, mtime: statSync(join(folder, name), { throwIfNoEntry: false })?.mtimeMs ?? 0 })).sort((a, b) => a.mtime - b.mtime);
  for (const { name } of byAge.slice(0, names.length - RECORDS_KEPT / 2)) rmSync(join(folder, name), { force: true });
}

/**
 * Writes the record, or nothing when one of the files changed too recently (since a second before `startedAt`,
 * this process's start) to be sure this process read what is there now. Best effort: a record that cannot be written only means the next entry takes Node.js again.
 */
export function writeJoinRecord(record: JoinRecord, env: NodeJS.ProcessEnv = process.env, startedAt = performance.timeOrigin): void {
  const since = BigInt(Math.floor((startedAt - 1000) * 1e6));
  const fields: string[] = [RECORD_MAGIC, 'cwd', record.cwd, 'argv', String(record.commandLine.length), ...record.commandLine];
  fields.push('env', environmentHash(env), 'stdin-tty', record.stdinIsTerminal ? '1' : '0');
  for (const watched of record.watched) {
    const stats = statOf(watched);
    if (stats && (stats.ctimeNs >= since || stats.mtimeNs >= since)) return;
    fields.push(watched.follow ? 'stat' : 'lstat', watched.path, signature(stats));
  }
  for (const { pid, start } of record.live) fields.push('live', String(pid), start);
  fields.push('exec', String(record.command.length), ...record.command, 'end');
  const folder = joinRecordFolder(env);
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    chmodSync(folder, 0o700); // the launcher reads nothing from a folder others may write
    pruneRecords(folder);
    writeFileAtomicSync(join(folder, joinRecordName(record.cwd, record.commandLine, env)), `${fields.join('\0')}\0`, { durable: false, mode: 0o600 });
  } catch {
    // the cache is not writable: entries stay on the slow path
  }
}
