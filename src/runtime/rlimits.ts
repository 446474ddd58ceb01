/**
 * Resource limits for a container's processes (docker's --ulimit NAME=SOFT[:HARD]), set by the helper with
 * setrlimit(2) before the command runs. Unlike cgroup limits they work everywhere, rootless too, within one
 * bound: raising a hard limit needs CAP_SYS_RESOURCE in the initial user namespace, which no process in a
 * container's user namespace has (root's included), so a hard limit above the caller's own is refused here in
 * words rather than by the kernel's EPERM at start.
 */
import { readFileSync } from 'node:fs';
import { DevboxError } from '../util/errors.js';

/** One limit as docker's HostConfig.Ulimits has it; -1 is unlimited. */
export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

/** docker's names → the rows of /proc/self/limits. */
const LIMITS: Record<string, string> = {
  core: 'Max core file size',
  cpu: 'Max cpu time',
  data: 'Max data size',
  fsize: 'Max file size',
  locks: 'Max file locks',
  memlock: 'Max locked memory',
  msgqueue: 'Max msgqueue size',
  nice: 'Max nice priority',
  nofile: 'Max open files',
  nproc: 'Max processes',
  rss: 'Max resident set',
  rtprio: 'Max realtime priority',
  rttime: 'Max realtime timeout',
  sigpending: 'Max pending signals',
  stack: 'Max stack size',
};

function usage(message: string, fix: string): DevboxError {
  return new DevboxError(message, { fix, kind: 'usage' });
}

function limitValue(text: string, spec: string): number {
  if (!/^-?\d+$/.test(text) || Number(text) < -1 || !Number.isSafeInteger(Number(text))) {
    throw usage(`--ulimit ${spec}: "${text}" is not a whole number (or -1 for unlimited)`, 'write NAME=SOFT[:HARD], e.g. nofile=1024:4096');
  }
  return Number(text);
}

/** -1 (unlimited) above every number. */
const rank = (n: number) => (n < 0 ? Number.POSITIVE_INFINITY : n);

/** NAME=SOFT[:HARD], as docker parses it: HARD is SOFT when left out. */
export function parseUlimit(spec: string): Ulimit {
  const match = /^([a-z]+)=([^:]*)(?::(.*))?$/.exec(spec);
  if (!match || !(match[1] in LIMITS)) {
    throw usage(`invalid --ulimit "${spec}"`, `write NAME=SOFT[:HARD] with NAME one of ${Object.keys(LIMITS).join(', ')}`);
  }
  const soft = limitValue(match[2], spec);
  const hard = match[3] === undefined ? soft : limitValue(match[3], spec);
  if (rank(soft) > rank(hard)) throw usage(`--ulimit ${spec}: the soft limit is above the hard one`, 'give SOFT ≤ HARD');
  return { Name: match[1], Soft: soft, Hard: hard };
}

/** The caller's own hard limits, from /proc/self/limits: what the container's cannot exceed. */
function ownHardLimit(name: string): number {
  const row = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((line) => line.startsWith(LIMITS[name]));
  const hard = row?.slice(26).trim().split(/\s+/)[1];
  return hard === undefined || hard === 'unlimited' ? -1 : Number(hard);
}

/** Parses every --ulimit and refuses a hard limit above the caller's own, which the kernel would refuse at start. */
export function resolveUlimits(specs: readonly string[]): Ulimit[] {
  const ulimits = new Map<string, Ulimit>();
  for (const spec of specs) {
    const ulimit = parseUlimit(spec);
    ulimits.set(ulimit.Name, ulimit); // the last one of a name wins, as docker
  }
  for (const u of ulimits.values()) {
    const own = ownHardLimit(u.Name);
    if (rank(u.Hard) > rank(own)) {
      throw usage(
        `--ulimit ${u.Name}: the hard limit ${u.Hard < 0 ? 'unlimited' : u.Hard} is above yours (${own}), which a container cannot raise`,
        `ask for at most ${own}, or raise your own hard limit (limits.conf, ulimit -H) first`,
      );
    }
  }
  return [...ulimits.values()];
}

/** The helper's options for these limits. */
export function rlimitArgs(ulimits: readonly Ulimit[] | undefined): string[] {
  const value = (n: number) => (n < 0 ? 'unlimited' : String(n));
  return (ulimits ?? []).flatMap((u) => ['--rlimit', u.Name, value(u.Soft), value(u.Hard)]);
}
