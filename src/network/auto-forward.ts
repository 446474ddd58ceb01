/**
 * Auto-forward: while a sandbox on slirp4netns runs, each TCP port a process inside listens on is forwarded
 * from the same port on the host's 127.0.0.1 (the next free one when that is taken), and the forward is
 * removed when the listener goes away. The watcher is the helper's `watch-ports` mode (native/ports.c), a
 * process beside the sandbox of ~2 MB that sleeps in poll(2) between looks, where a Node.js watcher kept
 * ~50 MB per sandbox: it reads the namespace's sockets from /proc, asks slirp4netns's API for the forwards and
 * keeps them in the sandbox's directory (AUTO_PORTS_FILE). It holds the sandbox's lifetime socket and ends
 * with its pid 1, whoever ends that; it runs in a session of its own, out of reach of the terminal's signals.
 */
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { helperPath } from '../runtime/helper.js';
import { watchPortsArgs } from '../runtime/spec.js';
import { spawnBeside } from '../util/exec.js';
import { attributesOf, type PortAttributeRules } from './options.js';
import type { PortMapping } from './port-mapping.js';

/** The watcher's record of the forwards it keeps, in the sandbox's directory (written by native/ports.c). */
export const AUTO_PORTS_FILE = 'auto-ports.json';

const MAX_PORT = 65535;

/** The ranges of ports a project says not to forward (onAutoForward: ignore), as the watcher takes them. */
export function ignoredPortRanges(attributes: PortAttributeRules | undefined): [number, number][] {
  // The usual case, on every start with port attributes: no rule ignores anything, no walk over the ports.
  if (!attributes || !(attributes.others?.ignore || attributes.rules.some((r) => r.ignore))) return [];
  const ranges: [number, number][] = [];
  for (let port = 1; port <= MAX_PORT; port++) {
    if (attributesOf(port, attributes).ignore !== true) continue;
    const last = ranges[ranges.length - 1];
    if (last && last[1] === port - 1) last[1] = port;
    else ranges.push([port, port]);
  }
  return ranges;
}

/**
 * Starts the watcher for the sandbox whose pid 1 is `sandbox.pid`, with slirp4netns's API socket in `dir`.
 * `publish`: the -p mappings, whose container ports are not forwarded again; nor are the ports `attributes`
 * say to ignore. `stderr`: where its one line goes if it stops (the sandbox stays up without auto-forward).
 */
export function startPortWatcher(
  dir: string,
  sandbox: { pid: number; lifetime: Socket },
  publish: readonly PortMapping[],
  stderr: number | 'pipe',
  attributes?: PortAttributeRules,
): Promise<ChildProcess> {
  const published = publish.filter((m) => m.protocol === 'tcp').map((m) => m.containerPort);
  return spawnBeside(helperPath(), watchPortsArgs(dir, sandbox.pid, [...published, ...ignoredPortRanges(attributes)]), {
    cwd: dir,
    stdio: ['ignore', 'ignore', stderr, sandbox.lifetime],
    detached: true,
  });
}
