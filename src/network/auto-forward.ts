/**
 * Auto-forward: while a sandbox runs, each TCP port a process inside listens on is forwarded from the same
 * port on the host's 127.0.0.1 (the next free one when that is taken), and the forward is removed when the
 * listener goes away. The namespace's listeners are read from /proc/<pid>/net/tcp{,6}; slirp4netns's API
 * adds and removes the forwards. Usable from any long-lived process that knows the sandbox's pid and API.
 */
import { Slirp4netnsApiError, type Slirp4netnsApi } from './api.js';
import { DEFAULT_HOST_IP, type PortMapping } from './port-mapping.js';
import { readSockets, unprivilegedPortStart } from './proc-net.js';
import { SLIRP_GUEST } from './slirp4netns.js';

/** slirp4netns delivers forwarded connections to the guest address: listeners on loopback only cannot get them. */
const REACHABLE = new Set(['0.0.0.0', '::', SLIRP_GUEST, `::ffff:${SLIRP_GUEST}`]);
/** Host ports tried for one listener before giving up on it (until it goes away and comes back). */
const MAX_ATTEMPTS = 64;
export const DEFAULT_SCAN_INTERVAL_MS = 200;

export interface AutoForwarderOptions {
  /** A process in the sandbox's network namespace (its pid 1), as this process sees it. */
  pid: number;
  api: Slirp4netnsApi;
  /** Container ports published with -p: not forwarded a second time. */
  published: readonly PortMapping[];
  /** Ports never forwarded (a project's onAutoForward: ignore). */
  ignore?: (port: number) => boolean;
  /** After each change, with every auto-forward now in place. */
  onChange: (forwards: readonly PortMapping[]) => void;
  /** An unexpected failure; watching has stopped. */
  onError: (error: unknown) => void;
  intervalMs?: number;
}

/** Ports below the privileged limit cannot be bound by a user: start from the first one it may bind. */
function firstHostPort(port: number): number {
  return process.getuid!() === 0 ? port : Math.max(port, unprivilegedPortStart());
}

/** The sandbox has gone: its /proc entry or its API socket. */
function sandboxGone(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  return ['ENOENT', 'ESRCH', 'ECONNREFUSED'].includes(e.code ?? e.cause?.code ?? '');
}

export class AutoForwarder {
  private readonly active = new Map<number, { id: number; mapping: PortMapping }>();
  /** Listening ports no host port could be found for; retried once the listener has gone and come back. */
  private readonly unforwardable = new Set<number>();
  private readonly publishedPorts: Set<number>;
  private timer?: NodeJS.Timeout;
  private scanning: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: AutoForwarderOptions) {
    this.publishedPorts = new Set(options.published.filter((m) => m.protocol === 'tcp').map((m) => m.containerPort));
  }

  get forwards(): PortMapping[] {
    return [...this.active.values()].map((f) => f.mapping).sort((a, b) => a.containerPort - b.containerPort);
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops watching; forwards in place stay until slirp4netns ends with the sandbox. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.scanning;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.scanning = this.scan().then(
        () => this.schedule(this.options.intervalMs ?? DEFAULT_SCAN_INTERVAL_MS),
        (error) => {
          this.stopped = true;
          if (!sandboxGone(error)) this.options.onError(error);
        },
      );
    }, delay);
  }

  /** One pass: forward new listeners, remove the forwards of listeners that went away. */
  private async scan(): Promise<void> {
    const listening = new Set(
      readSockets(`/proc/${this.options.pid}/net`, 'tcp')
        .filter((s) => REACHABLE.has(s.address) && !this.publishedPorts.has(s.port) && !this.options.ignore?.(s.port))
        .map((s) => s.port),
    );
    let changed = false;
    for (const [port, forward] of this.active) {
      if (listening.has(port)) continue;
      await this.options.api.removeHostForward(forward.id);
      this.active.delete(port);
      changed = true;
    }
    for (const port of this.unforwardable) if (!listening.has(port)) this.unforwardable.delete(port);
    for (const port of listening) {
      if (this.active.has(port) || this.unforwardable.has(port)) continue;
      const forward = await this.forward(port);
      if (forward) {
        this.active.set(port, forward);
        changed = true;
      } else this.unforwardable.add(port);
    }
    if (changed) this.options.onChange(this.forwards);
  }

  private async forward(port: number): Promise<{ id: number; mapping: PortMapping } | undefined> {
    const first = firstHostPort(port);
    for (let hostPort = first; hostPort <= 65535 && hostPort < first + MAX_ATTEMPTS; hostPort++) {
      const mapping: PortMapping = { hostIp: DEFAULT_HOST_IP, hostPort, containerPort: port, protocol: 'tcp' };
      try {
        return { id: await this.options.api.addHostForward({ protocol: 'tcp', hostIp: DEFAULT_HOST_IP, hostPort, guestPort: port }), mapping };
      } catch (error) {
        if (!(error instanceof Slirp4netnsApiError)) throw error; // taken: try the next port
      }
    }
    return undefined;
  }
}
