/**
 * Processes this suite started, told apart from everyone else's on a shared machine (other users' suites,
 * other runs as root): a test that checks that a process is gone, or that none was left behind, looks only
 * at its own. Two ways: by the suite's store in the environment (suiteProcesses), or by a folder of the test
 * in the command line or working directory, with everything started from there (processesUnder).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
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

export interface ProcessInfo {
  pid: number;
  ppid: number;
  cmdline: string;
}

function readProcess(pid: number): (ProcessInfo & { cwd: string }) | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined; // exited, waiting to be reaped
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // not ours to read (a process of a subordinate id): its command line still counts
    }
    return { pid, ppid: Number(fields[1]), cmdline, cwd };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** The pid slirp4netns was attached to (its last arguments are `PID TAP`), if `p` is slirp4netns. */
function slirpTarget(p: ProcessInfo): number | undefined {
  const match = /(?:^|\/)slirp4netns .* (\d+) \S+$/.exec(p.cmdline);
  return match ? Number(match[1]) : undefined;
}

/**
 * Live processes whose command line or working directory contains `folder`, their descendants, and the
 * slirp4netns attached to any of them (it runs sandboxed, elsewhere, started by devbox).
 */
export function processesUnder(folder: string): ProcessInfo[] {
  const all = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProcess(Number(name)))
    .filter((p): p is ProcessInfo & { cwd: string } => p !== undefined);
  const found = new Map(all.filter((p) => p.cmdline.includes(folder) || p.cwd.startsWith(folder)).map((p) => [p.pid, p]));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      const target = slirpTarget(p);
      if (!found.has(p.pid) && (found.has(p.ppid) || (target !== undefined && found.has(target)))) {
        found.set(p.pid, p);
        grew = true;
      }
    }
  }
  return [...found.values()].map(({ pid, ppid, cmdline }) => ({ pid, ppid, cmdline }));
}

/** Polls until no process is under `folder`; throws with what is left after `timeoutMs`. */
export async function awaitNoProcessUnder(folder: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = processesUnder(folder);
    if (!left.length) return;
    if (Date.now() > deadline) throw new Error(`processes still running under ${folder}:\n${left.map((p) => `${p.pid} ${p.cmdline}`).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The supervising helpers of live sandboxes under `dir` (a project's sandbox directory): one per sandbox.
 * Its pid 1 is its child and keeps the same command line until it is up.
 */
export function sandboxSupervisors(dir: string): number[] {
  const found = processesUnder(dir);
  const pids = new Set(found.map((p) => p.pid));
  return found.filter((p) => p.cmdline.includes('--keep-alive') && !pids.has(p.ppid)).map((p) => p.pid);
}
