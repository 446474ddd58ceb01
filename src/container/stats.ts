/**
 * What a running container uses, for `devbox stats`, summed from the host's /proc over the processes of its
 * pid namespace: CPU time (utime+stime), memory (proportional set size, so pages its processes share are
 * counted once), block I/O (read_bytes/write_bytes of /proc/PID/io) and, with a network namespace of its own,
 * what its interfaces moved. devbox puts a container in no cgroup of its own (cgroup v2 is rarely delegated to
 * a user), so these are not cgroup figures: a process that exited takes its share with it.
 * As the container's user namespace's owner, devbox may read these files of its processes whatever their uid.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { containerPids, statFields, TICKS } from './processes.js';

export interface UsageSample {
  /** When it was taken (ms, monotonic enough for rates: Date.now()). */
  at: number;
  cpuSeconds: number;
  memoryBytes: number;
  blockRead: number;
  blockWrite: number;
  /** Bytes received and sent by its interfaces other than lo; undefined on the host's network. */
  net?: { rx: number; tx: number };
  pids: number;
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
}

/** A `Key:   N kB` line of smaps_rollup or status, in bytes. */
function kilobytes(text: string | undefined, key: string): number | undefined {
  const match = text && new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

function ioField(text: string | undefined, key: string): number {
  const match = text && new RegExp(`^${key}: (\\d+)`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

/** Bytes moved by the interfaces of the network namespace `pid` is in, lo left out. */
function netDev(pid: number): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of (readOr(`/proc/${pid}/net/dev`) ?? '').split('\n').slice(2)) {
    const [name, counters] = line.split(':');
    if (!counters || name.trim() === 'lo') continue;
    const fields = counters.trim().split(/\s+/).map(Number);
    rx += fields[0];
    tx += fields[8];
  }
  return { rx, tx };
}

export function sampleUsage(pid1: number): UsageSample {
  const sample: UsageSample = { at: Date.now(), cpuSeconds: 0, memoryBytes: 0, blockRead: 0, blockWrite: 0, pids: 0 };
  for (const pid of containerPids(pid1)) {
    const stat = readOr(`/proc/${pid}/stat`);
    if (!stat) continue;
    const fields = statFields(stat);
    sample.pids++;
    sample.cpuSeconds += (Number(fields[11]) + Number(fields[12])) / TICKS;
    // Pss where the kernel offers it; resident size else (it counts shared pages in each process).
    sample.memoryBytes += kilobytes(readOr(`/proc/${pid}/smaps_rollup`), 'Pss') ?? kilobytes(readOr(`/proc/${pid}/status`), 'VmRSS') ?? 0;
    const io = readOr(`/proc/${pid}/io`);
    sample.blockRead += ioField(io, 'read_bytes');
    sample.blockWrite += ioField(io, 'write_bytes');
  }
  if (readlinkSync(`/proc/${pid1}/ns/net`) !== readlinkSync('/proc/self/ns/net')) sample.net = netDev(pid1);
  return sample;
}

/** The machine's memory: the limit a container without a cgroup of its own has. */
export function memoryLimit(): number {
  return kilobytes(readFileSync('/proc/meminfo', 'utf8'), 'MemTotal') ?? 0;
}

/** CPU use between two samples as docker shows it: 100 % is one core busy all the time. */
export function cpuPercent(before: Pick<UsageSample, 'at' | 'cpuSeconds'>, after: UsageSample): number {
  const seconds = (after.at - before.at) / 1000;
  return seconds > 0 ? Math.max(0, ((after.cpuSeconds - before.cpuSeconds) / seconds) * 100) : 0;
}
