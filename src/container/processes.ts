/**
 * A container's processes from the host's /proc, for `devbox top`: every process in the pid namespace of its
 * pid 1 (devbox's own init included, as docker shows the container's init). Processes of other users are
 * skipped unread: their namespace links cannot be read.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';

export interface ProcessRow {
  user: string;
  pid: number;
  ppid: number;
  stime: string;
  tty: string;
  time: string;
  command: string;
}

/** USER_HZ on Linux: /proc/PID/stat counts CPU time in these. */
export const TICKS = 100;

function clock(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return [h, m, s].map((n) => String(n).padStart(2, '0')).join(':');
}

/** The pids in the pid namespace of `pid1`, itself included, in order; processes that cannot be read are left out. */
export function containerPids(pid1: number): number[] {
  const ns = readlinkSync(`/proc/${pid1}/ns/pid`);
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid 1 lives in the namespace it made; its children are in it too.
      if (entry === String(pid1) || readlinkSync(`/proc/${entry}/ns/pid`) === ns) pids.push(Number(entry));
    } catch {
      // exited meanwhile, or another user's
    }
  }
  return pids.sort((a, b) => a - b);
}

/** The fields of /proc/PID/stat after the command name: fields[0] is the state, [1] the ppid, [11] utime. */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

export function containerProcesses(pid1: number): ProcessRow[] {
  const boot = Date.now() / 1000 - Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const me = userInfo();
  const rows: ProcessRow[] = [];
  for (const pid of containerPids(pid1)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = statFields(stat);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      const uid = statSync(`/proc/${pid}`).uid;
      const started = new Date((boot + Number(fields[19]) / TICKS) * 1000);
      rows.push({
        user: uid === me.uid ? me.username : String(uid),
        pid,
        ppid: Number(fields[1]),
        stime: started.toTimeString().slice(0, 5),
        tty: Number(fields[4]) === 0 ? '?' : `pts/${Number(fields[4]) & 0xff}`,
        time: clock((Number(fields[11]) + Number(fields[12])) / TICKS),
        command: cmdline || stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      });
    } catch {
      // exited meanwhile
    }
  }
  return rows;
}
