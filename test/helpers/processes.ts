/**
 * The processes a test started, found through /proc, never by a name another user's or another run's
 * processes could have: those whose command line or working directory lies in a folder of the test (a
 * sandbox's directory in the test's store), and everything they started.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

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
