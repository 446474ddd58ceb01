/**
 * `devbox logs`: the container's log files (k8s-file lines, written by its supervisor: native/logfile.c), oldest
 * rotated file first, printed to stdout or stderr as the command wrote them. -f follows the current file (and
 * its rotations) until the container stops.
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DevboxError, usageError } from '../util/errors.js';
import { writeStderr, writeStdout } from '../util/stdio.js';
import { parseDuration } from './options.js';
import { type Container, currentState, isRunning } from './lookup.js';
import { LOG_FILE, readState } from './records.js';

export interface LogsOptions {
  follow: boolean;
  /** Lines from the end; undefined: all. */
  tail?: number;
  timestamps: boolean;
  /** Milliseconds since the epoch. */
  since?: number;
  until?: number;
  /** Before each line: which container it is from, when several are shown at once (`devbox services logs`). */
  prefix?: string;
}

export interface LogLine {
  time: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

/** --tail: a number of lines, or "all" (undefined: every line). */
export function parseTail(text: string | undefined): number | undefined {
  if (text === undefined || text === 'all') return undefined;
  if (!/^\d+$/.test(text)) throw usageError(`--tail: expected a number of lines or "all", not "${text}"`);
  return Number(text);
}

/** docker's --since/--until: an RFC 3339 time, Unix seconds, or a duration before now ("10m"). */
export function parseLogTime(text: string, what: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return now - parseDuration(text, what);
  const time = Date.parse(text);
  if (Number.isNaN(time))
    throw new DevboxError(`${what}: invalid time "${text}"`, { fix: 'use an RFC 3339 time, Unix seconds or a duration such as 10m', kind: 'usage' });
  return time;
}

/** Lines of k8s-file text; parts (P) are joined to the line they continue. `carry` keeps an unfinished part. */
export function parseLogText(text: string, carry: { part?: LogLine } = {}): LogLine[] {
  const lines: LogLine[] = [];
  for (const raw of text.split('\n')) {
    const match = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s.exec(raw);
    if (!match) continue;
    const [, time, stream, tag, content] = match;
    const part = carry.part && carry.part.stream === stream ? carry.part : undefined;
    const line: LogLine = { time: part?.time ?? time, stream: stream as LogLine['stream'], text: (part?.text ?? '') + content };
    if (tag === 'P') carry.part = line;
    else {
      carry.part = undefined;
      lines.push(line);
    }
  }
  return lines;
}

/** The log files, oldest first: the rotated ones (LOG_FILE.N, the highest N the oldest), then the current one. */
function logFiles(dir: string): string[] {
  const rotated: number[] = [];
  let current = false;
  for (const name of readdirSync(dir)) {
    if (name === LOG_FILE) current = true;
    const n = name.startsWith(`${LOG_FILE}.`) ? Number(name.slice(LOG_FILE.length + 1)) : 0;
    if (Number.isInteger(n) && n >= 1 && n <= 100) rotated.push(n);
  }
  const files = rotated.sort((a, b) => b - a).map((n) => join(dir, `${LOG_FILE}.${n}`));
  return current ? [...files, join(dir, LOG_FILE)] : files;
}

/**
 * Prints lines, each on the stream its command wrote it to, a run of lines of one stream in one write; false
 * once stdout's reader has gone.
 */
function emit(lines: readonly LogLine[], options: LogsOptions): boolean {
  for (let start = 0; start < lines.length; ) {
    const stream = lines[start].stream;
    let end = start;
    let text = '';
    for (; end < lines.length && lines[end].stream === stream; end++) {
      text += `${options.prefix ?? ''}${options.timestamps ? `${lines[end].time} ` : ''}${lines[end].text}\n`;
    }
    if (!(stream === 'stderr' ? writeStderr(text) : writeStdout(text)) && stream === 'stdout') return false;
    start = end;
  }
  return true;
}

function wanted(line: LogLine, options: LogsOptions): boolean {
  const time = Date.parse(line.time);
  return (options.since === undefined || time >= options.since) && (options.until === undefined || time <= options.until);
}

export async function printLogs(container: Container, options: LogsOptions): Promise<void> {
  const carry: { part?: LogLine } = {};
  let lines = logFiles(container.dir).flatMap((file) => parseLogText(readFileSync(file, 'utf8'), carry));
  lines = lines.filter((l) => wanted(l, options));
  if (options.tail !== undefined) lines = options.tail === 0 ? [] : lines.slice(-options.tail);
  if (!emit(lines, options) || !options.follow || !isRunning(container)) return;
  // Follow the current file from where it ended; a rotation (a new inode, or a shorter file) starts it over.
  const path = join(container.dir, LOG_FILE);
  let fd = openSync(path, 'r');
  let offset = fstatSync(fd).size;
  let inode = fstatSync(fd).ino;
  const buffer = Buffer.alloc(65536);
  let pending = '';
  for (let running = true; ; ) {
    for (let n = readSync(fd, buffer, 0, buffer.length, offset); n > 0; n = readSync(fd, buffer, 0, buffer.length, offset)) {
      offset += n;
      pending += buffer.toString('utf8', 0, n);
      const end = pending.lastIndexOf('\n');
      if (end < 0) continue;
      if (
        !emit(
          parseLogText(pending.slice(0, end), carry).filter((l) => wanted(l, options)),
          options,
        )
      ) {
        closeSync(fd);
        return;
      }
      pending = pending.slice(end + 1);
    }
    if (!running) break;
    await new Promise((r) => setTimeout(r, 100));
    running = isRunning({ state: currentState(readState(container.dir)) });
    const now = existsSync(path) ? statSync(path) : undefined;
    if (now && (now.ino !== inode || now.size < offset)) {
      closeSync(fd);
      fd = openSync(path, 'r');
      inode = now.ino;
      offset = 0;
    }
  }
  closeSync(fd);
}
