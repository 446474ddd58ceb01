/**
 * Processes this suite started, told apart from everyone else's on a shared machine (other users' suites,
 * other runs as root): a test that checks that a process is gone, or that none was left behind, looks only
 * at its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { hostIdFor, resolveIdMapping } from '../../src/userns/idmap.js';
import { startTimeOf } from '../../src/util/processes.js';

/** A process by pid and start time, so a recycled pid is never taken for it. */
export interface SuiteProcess {
  pid: number;
  start: string;
}

function read(path: string, encoding: BufferEncoding): string | undefined {
  try {
    return readFileSync(path, encoding);
  } catch {
    return undefined;
  }
}

/** Real and effective uid, as this process sees them. */
function uids(pid: number): [number, number] | undefined {
  const line = /^Uid:\s+(\d+)\s+(\d+)/m.exec(read(`/proc/${pid}/status`, 'utf8') ?? '');
  return line ? [Number(line[1]), Number(line[2])] : undefined;
}

/**
 * Whether `pid` is the suite's: its environment names the suite's store (devbox passes its environment on to
 * the helper, fuse-overlayfs and slirp4netns). Where the environment cannot be read (slirp4netns
 * --enable-sandbox becomes root of the sandbox's user namespace and is no longer dumpable), it is the suite's
 * when it runs as this user's container root with this user as its real uid: another user's has other ids,
 * and a user runs one pass of the suites at a time. Root reads every environment.
 */
function isSuites(pid: number): boolean {
  const environ = read(`/proc/${pid}/environ`, 'latin1');
  if (environ !== undefined) return environ.split('\0').includes(`XDG_DATA_HOME=${process.env.XDG_DATA_HOME}`);
  if (process.getuid!() === 0) return false;
  const ids = uids(pid);
  return ids !== undefined && ids[0] === process.getuid!() && ids[1] === hostIdFor(resolveIdMapping().mapping.uidMap, 0);
}

/** The suite's live processes whose command name (/proc/PID/comm) is `name`. */
export function suiteProcesses(name: string): SuiteProcess[] {
  const found: SuiteProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (read(`/proc/${pid}/comm`, 'utf8')?.trim() !== name || !isSuites(pid)) continue;
    const start = startTimeOf(pid);
    if (start !== undefined) found.push({ pid, start });
  }
  return found;
}

/** The suite's processes named `name` that were not among `before`: what a step started and left running. */
export function startedSince(before: readonly SuiteProcess[], name: string): SuiteProcess[] {
  return suiteProcesses(name).filter((p) => !before.some((b) => b.pid === p.pid && b.start === p.start));
}
