/**
 * pasta (passt's namespace mode) as a sandbox's outbound link, in place of slirp4netns (docs/networking.md).
 * It is given slirp4netns's addresses (10.0.2.100 behind 10.0.2.2, the resolver forwarded at 10.0.2.3), so
 * everything written into the sandbox (/etc/hosts, resolv.conf, the holder's masquerade) is the same for both;
 * IPv6 is pasta's default: the host's address and route.
 *
 * pasta has no --exit-fd, and the version Debian 12 ships does not notice that a namespace given by pid has
 * gone (it watches only namespaces bound to a file). So a small `sh` starts it in the foreground and waits
 * for the sandbox's pid 1 to go (`tail --pid`), then kills it. A parent-death signal would not do: pasta
 * changes its credentials when it joins the sandbox's user namespace, which clears it; and the sandbox's
 * lifetime socket cannot be read from a shell without taking bytes meant for devbox.
 */
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DevboxError } from '../util/errors.js';
import { firstLine, spawnBeside, type ChildProcess } from '../util/exec.js';
import { findProgram } from '../util/programs.js';
import { isRunning, type ProcessRecord, recordOf, signalIfRunning, whenGone } from '../util/processes.js';
import type { PortMapping } from './port-mapping.js';
import { SLIRP_DNS, SLIRP_GATEWAY, SLIRP_GUEST, SLIRP_MTU } from './slirp4netns.js';

const LOG_NAME = 'pasta.log';
const PID_NAME = 'pasta.pid';
/** How long pasta may take to configure the namespace (it writes its pid file when it has). */
const READY_TIMEOUT_MS = 20_000;
const READY_POLL_MS = 5;

/** How often the wrapper looks whether the sandbox's pid 1 is still there (tail -s). */
const WATCH_INTERVAL_S = '0.2';

/** sh's part: pasta (the arguments after the pid to watch) as its child, its pid on stdout; pasta killed once the pid has gone. */
const WRAPPER = 'watched=$1; shift; "$@" & pasta=$!; echo $pasta; tail --pid="$watched" -s $0 -f /dev/null; kill -KILL $pasta';

export interface PastaRequest {
  /** pid 1 of the sandbox (or a network's holder), as this process sees it. */
  pid: number;
  allowHostLoopback: boolean;
  /** UDP mappings, each with its host port: pasta binds them at start (TCP ones go through devbox's forwarder). */
  udp: readonly PortMapping[];
}

export interface PastaProcess {
  /** The pids to wait for: sh and pasta (tail, sh's child, goes first). */
  pids: number[];
  endsWithLifetime: false;
  /** Resolves when sh has exited (pasta is killed with it). */
  exited: Promise<void>;
  kill(): void;
}

/** The pasta program; undefined when passt is not installed. */
export function findPasta(): string | undefined {
  return findProgram('pasta');
}

/** `instead`: how the user would do without it. */
export function requirePasta(instead?: string): string {
  const program = findPasta();
  if (!program)
    throw new DevboxError('pasta not found: it is the chosen network backend', {
      fix: `apt-get install passt, or devbox config set networkBackend slirp4netns${instead ? `, or ${instead}` : ''}`,
    });
  return program;
}

/**
 * A UDP mapping pasta cannot forward, as one line; undefined when it can. The version Debian 12 ships
 * (2023-03) drops datagrams forwarded to another port than they came to on the host's loopback.
 */
export function pastaUdpRefusal(m: PortMapping): DevboxError | undefined {
  if (m.hostPort === m.containerPort) return undefined;
  const where = m.hostPort ? `host port ${m.hostIp}:${m.hostPort}` : `a free port of ${m.hostIp}`;
  return new DevboxError(`cannot publish ${m.containerPort}/udp on ${where} with pasta: it forwards UDP to the same port only`, {
    fix: `publish -p ${m.hostIp}:${m.containerPort}:${m.containerPort}/udp, or use --network slirp4netns`,
    kind: 'usage',
  });
}

/** pasta's command line: slirp4netns's addresses on tap0, no port forwarded unless asked, the host's loopback hidden unless allowed. */
export function pastaArgs(request: PastaRequest, pidFile = PID_NAME): string[] {
  const udp = request.udp.map((m) => `${m.hostIp}/${m.hostPort}:${m.containerPort}`);
  return [
    '--quiet',
    '--foreground',
    // It changes its working directory: a full path.
    `--pid=${pidFile}`,
    '--config-net',
    '--ns-ifname=tap0',
    `--mtu=${SLIRP_MTU}`,
    `--address=${SLIRP_GUEST}`,
    '--netmask=24',
    `--gateway=${SLIRP_GATEWAY}`,
    `--dns-forward=${SLIRP_DNS}`,
    // As root it would become nobody, who may not enter the sandbox's namespaces.
    ...(process.getuid!() === 0 ? ['--runas=0:0'] : []),
    // Connections to the gateway reach the host's loopback, as slirp4netns's without --disable-host-loopback.
    ...(request.allowHostLoopback ? [] : ['--no-map-gw']),
    // pasta's default is `auto` both ways: the namespace's loopback ports would reach the host's.
    '--tcp-ports=none',
    `--udp-ports=${udp.length ? udp.join(',') : 'none'}`,
    '--tcp-ns=none',
    '--udp-ns=none',
    String(request.pid),
  ];
}

/** Why pasta failed, from the last line of its log. */
function lastLogLine(dir: string): string {
  try {
    const lines = readFileSync(join(dir, LOG_NAME), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/syslog/.test(l));
    return lines.pop() ?? 'no message';
  } catch {
    return 'no message';
  }
}

/** Resolves true once pasta has configured the namespace (its pid file), false when it has exited first. */
async function whenReady(dir: string, pasta: ProcessRecord): Promise<boolean> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      if (readFileSync(join(dir, PID_NAME), 'utf8').trim()) return true;
    } catch {
      // not written yet
    }
    if (!isRunning(pasta) || Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
}

/**
 * Starts pasta for the sandbox and waits until the network inside is configured. Its log and pid file are in
 * `dir`; it ends when the sandbox's pid 1 (`request.pid`) does. `detached`: it outlives this process (a live
 * sandbox's does).
 */
export async function startPasta(program: string, request: PastaRequest, dir: string, detached = false): Promise<PastaProcess> {
  const pidFile = join(dir, PID_NAME);
  rmSync(pidFile, { force: true });
  const log = openSync(join(dir, LOG_NAME), 'w', 0o600);
  let sh: ChildProcess;
  try {
    sh = await spawnBeside('/bin/sh', ['-c', WRAPPER, WATCH_INTERVAL_S, String(request.pid), program, ...pastaArgs(request, pidFile)], {
      cwd: dir,
      stdio: ['ignore', 'pipe', log],
      detached,
    });
  } finally {
    closeSync(log);
  }
  const shExited = new Promise<void>((resolve) => sh.once('exit', () => resolve()));
  const pastaPid = Number((await firstLine(sh.stdout!)) ?? 0);
  const pasta = pastaPid > 0 ? recordOf(pastaPid) : { pid: 0, start: '' };
  // The kernel kills pasta as sh goes, a moment later: its UDP ports are free once it is gone.
  const exited = shExited.then(() => whenGone([pasta], READY_POLL_MS));
  (sh.stdout as Readable).destroy();
  const kill = () => {
    sh.kill('SIGKILL');
    signalIfRunning(pasta, 'SIGKILL');
  };
  if (!(await whenReady(dir, pasta))) {
    kill();
    await exited;
    throw new DevboxError(`pasta could not set up the network: ${lastLogLine(dir)}`, {
      fix: 'see "devbox doctor"; /dev/net/tun must be usable (or: devbox config set networkBackend slirp4netns)',
    });
  }
  return { pids: [sh.pid!, pastaPid], endsWithLifetime: false, exited, kill };
}
