/** Whether a process is still there, asked the cheap ways (no child processes, no libraries). */
import { readFileSync } from 'node:fs';

/** The process exists (EPERM: it does, but is not ours to signal). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The fields of a /proc/PID/stat line after the command name: [0] is the state, [1] the ppid, [11] utime.
 * The command name (field 2) may contain spaces and parentheses: counted from the last ')'.
 */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * Field 22 of /proc/PID/stat (start time in clock ticks after boot), which tells a process from a later one
 * given the same pid; undefined when there is no such process or it has already exited (a zombie).
 */
export function startTimeOf(pid: number): string | undefined {
  try {
    const fields = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** A process by pid and start time (/proc/PID/stat), so a recycled pid is never taken for it. */
export interface ProcessRecord {
  pid: number;
  start: string;
}

/** The record of the process `pid` now (an empty start time when it is gone: it never counts as running). */
export function recordOf(pid: number): ProcessRecord {
  return { pid, start: startTimeOf(pid) ?? '' };
}

/** Still the recorded process, and not yet exited (a zombie has exited). */
export function isRunning(p: ProcessRecord): boolean {
  return p.start !== '' && startTimeOf(p.pid) === p.start;
}

/** Signals the process if it is still the one recorded; it may exit in between (ESRCH). */
export function signalIfRunning(p: ProcessRecord, name: NodeJS.Signals): void {
  try {
    if (isRunning(p)) process.kill(p.pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Resolves once none of the processes runs, looking every `pollMs` (they need not be this process's children). */
export async function whenGone(processes: readonly ProcessRecord[], pollMs: number): Promise<void> {
  while (processes.some(isRunning)) await new Promise((resolve) => setTimeout(resolve, pollMs));
}
