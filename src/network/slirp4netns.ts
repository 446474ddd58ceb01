/**
 * The slirp4netns program: finding it, what the installed version supports (probed once from --help and
 * recorded), its command line, and starting it against a sandbox's network namespace — here, or by the
 * helper that starts a container (native/outbound.c), which spares devbox a fork on every run. Either way it
 * gets the sandbox's lifetime descriptor as --exit-fd, so it ends when the sandbox's pid 1 does.
 */
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { DevboxError } from '../util/errors.js';
import { execCapture, spawnBeside, type ChildProcess } from '../util/exec.js';
import { recordOf, signalIfRunning, whenGone } from '../util/processes.js';
import { findProgram } from '../util/programs.js';
import { API_SOCKET_NAME, Slirp4netnsApi } from './api.js';

/** MTU of the tap device: 65520 rather than 1500 multiplies throughput (slirp4netns benchmarks, Podman's default). */
export const SLIRP_MTU = 65520;
/** slirp4netns's fixed addresses in its default 10.0.2.0/24. */
export const SLIRP_GATEWAY = '10.0.2.2';
export const SLIRP_DNS = '10.0.2.3';
export const SLIRP_GUEST = '10.0.2.100';
const SLIRP_TAP = 'tap0';
/** In the sandbox's (or container's) directory, beside its API socket. */
export const SLIRP4NETNS_LOG = 'slirp4netns.log';
/** In the helper's --slirp4netns command line: where the helper puts pid 1's pid (native/outbound.c). */
export const HELPER_PID = '{pid}';

export interface Slirp4netnsFeatures {
  sandbox: boolean;
  seccomp: boolean;
  /** --enable-ipv6: an address from router advertisements (fd00::/64) and a default route inside, as podman gives by default. */
  ipv6: boolean;
}

interface FeatureRecord extends Slirp4netnsFeatures {
  program: string;
  mtimeMs: number;
  size: number;
}

/** `instead`: how the user would do without it (e.g. `run with --network host`). */
export function requireSlirp4netns(instead?: string): string {
  const program = findProgram('slirp4netns');
  if (!program)
    throw new DevboxError('slirp4netns not found: it provides the isolated network', {
      fix: `apt-get install slirp4netns${instead ? `, or ${instead}` : ''}`,
    });
  return program;
}

export function parseFeatures(help: string): Slirp4netnsFeatures {
  return { sandbox: help.includes('--enable-sandbox'), seccomp: help.includes('--enable-seccomp'), ipv6: help.includes('--enable-ipv6') };
}

/** What `program` supports, from `recordPath` while the program file is unchanged, else probed and recorded. */
export async function slirp4netnsFeatures(program: string, recordPath: string): Promise<Slirp4netnsFeatures> {
  const st = statSync(program);
  try {
    const record = JSON.parse(readFileSync(recordPath, 'utf8')) as FeatureRecord;
    if (record.program === program && record.mtimeMs === st.mtimeMs && record.size === st.size && record.ipv6 !== undefined)
      return { sandbox: record.sandbox, seccomp: record.seccomp, ipv6: record.ipv6 };
  } catch {
    // no record yet, or unreadable: probe
  }
  const features = parseFeatures((await execCapture(program, ['--help'])).stdout);
  // A cache: lost on a power loss, it is probed again.
  const record: FeatureRecord = { program, mtimeMs: st.mtimeMs, size: st.size, ...features };
  writeFileAtomicSync(recordPath, JSON.stringify(record), { durable: false });
  return features;
}

export interface Slirp4netnsRequest {
  allowHostLoopback: boolean;
  features: Slirp4netnsFeatures;
}

/** The command line against pid 1 `pid` (HELPER_PID for the helper's); fd 3 is the sandbox's lifetime descriptor, fd 4 the ready pipe. */
export function slirp4netnsArgs(request: Slirp4netnsRequest, pid: string): string[] {
  return [
    '--configure',
    `--mtu=${SLIRP_MTU}`,
    '--exit-fd=3',
    '--ready-fd=4',
    `--api-socket=${API_SOCKET_NAME}`,
    ...(request.allowHostLoopback ? [] : ['--disable-host-loopback']),
    ...(request.features.sandbox ? ['--enable-sandbox'] : []),
    ...(request.features.seccomp ? ['--enable-seccomp'] : []),
    ...(request.features.ipv6 ? ['--enable-ipv6'] : []),
    pid,
    SLIRP_TAP,
  ];
}

export interface Slirp4netnsProcess {
  pid: number;
  api: Slirp4netnsApi;
  /** Resolves when slirp4netns has exited. */
  exited: Promise<void>;
  kill(): void;
}

/** Why slirp4netns failed, from the last line of its log. */
function lastLogLine(dir: string): string {
  try {
    const lines = readFileSync(join(dir, SLIRP4NETNS_LOG), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/is exiting|^child failed/.test(l));
    return lines.pop() ?? 'no message';
  } catch {
    return 'no message';
  }
}

/** slirp4netns ended before the network inside was configured (its log, in `dir`, says why). */
export function slirp4netnsFailure(dir: string): DevboxError {
  return new DevboxError(`slirp4netns could not set up the network: ${lastLogLine(dir)}`, {
    fix: 'see "devbox doctor"; /dev/net/tun must be usable',
  });
}

/** How often a killed slirp4netns that is not this process's child is looked for. */
const GONE_POLL_MS = 2;

/**
 * slirp4netns as the helper started it (its pid came on the sync socket), ready. The helper waits for its
 * end before it exits (`helperExited`); killed here (a start given up before the go, while the helper has
 * not reaped it, so its pid is still its own), it is gone once /proc shows it dead.
 */
export function startedByHelper(pid: number, dir: string, helperExited: Promise<unknown>): Slirp4netnsProcess {
  const slirp = recordOf(pid);
  let killed!: () => void;
  const kill = new Promise<void>((resolve) => (killed = resolve));
  return {
    pid,
    api: new Slirp4netnsApi(dir),
    exited: Promise.race([helperExited.then(() => undefined), kill.then(() => whenGone([slirp], GONE_POLL_MS))]),
    kill: () => {
      signalIfRunning(slirp, 'SIGKILL');
      killed();
    },
  };
}

/**
 * Starts slirp4netns for the sandbox whose pid 1 is `pid` and waits until the network inside is configured.
 * It runs in `dir` (the sandbox's directory: its API socket and log live there) and ends when `lifetime`
 * hangs up. `detached`: it outlives this process (a live sandbox does).
 */
export async function startSlirp4netns(
  program: string,
  request: Slirp4netnsRequest & { pid: number },
  dir: string,
  lifetime: Socket,
  detached = false,
): Promise<Slirp4netnsProcess> {
  const log = openSync(join(dir, SLIRP4NETNS_LOG), 'w', 0o600);
  let child: ChildProcess;
  try {
    // With --enable-sandbox it creates its API socket as root of the sandbox's user namespace, which is not
    // us: umask 0 lets us connect. The container directory (0700) keeps everyone else out.
    child = await spawnBeside(program, slirp4netnsArgs(request, String(request.pid)), {
      cwd: dir,
      stdio: ['ignore', 'ignore', log, lifetime, 'pipe'],
      umask: 0,
      detached,
    });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<boolean>((resolve) => {
    const pipe = child.stdio[4] as Readable;
    pipe.once('data', () => resolve(true));
    pipe.once('end', () => resolve(false));
    pipe.on('error', () => resolve(false));
  });
  if (!(await ready)) {
    child.kill('SIGKILL');
    child.ref(); // a detached child no longer holds the event loop open: waiting for it must
    await exited;
    throw slirp4netnsFailure(dir);
  }
  (child.stdio[4] as Readable).destroy();
  return { pid: child.pid!, api: new Slirp4netnsApi(dir), exited, kill: () => child.kill('SIGKILL') };
}
