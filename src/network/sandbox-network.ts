/**
 * A sandbox's own isolated network: its outbound link (slirp4netns, or pasta: the `networkBackend` setting)
 * attached to its network namespace before anything runs in it, the -p mappings published (the caller
 * records them for `devbox ports`), and, on slirp4netns, the auto-forward watcher (auto-forward.ts, which
 * records its own; it speaks slirp4netns's API). On any failure nothing stays running. A foreground `devbox
 * run` waits for them; a live project sandbox, which outlives the command that starts it, has them detached.
 */
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { startPortWatcher } from './auto-forward.js';
import { attributesOf, type NetworkBackend, type NetworkOptions, type PortAttributeRules } from './options.js';
import { readSettings, type NetworkBackendSetting } from '../settings/settings.js';
import type { PortMapping } from './port-mapping.js';
import type { PortForwarderProcess } from '../runtime/port-forwarder.js';
import type { Slirp4netnsApi } from './api.js';
import { findPasta, pastaUdpRefusal, requirePasta, startPasta } from './pasta.js';
import { publishPorts, type OtherHostPort } from './publish.js';
import { requireSlirp4netns, slirp4netnsFeatures, startSlirp4netns, type Slirp4netnsFeatures, type Slirp4netnsProcess } from './slirp4netns.js';
import { describeError } from '../util/errors.js';

export interface PortForward extends PortMapping {
  /** `publish` for -p, `auto` for a listener found by auto-forward. */
  origin: 'publish' | 'auto';
  /** What the project calls the port (devcontainer.json's portsAttributes label). */
  label?: string;
}

export type OutboundSetup = { backend: 'slirp4netns'; program: string; features: Slirp4netnsFeatures } | { backend: 'pasta'; program: string };

/** The backend the networkBackend setting chooses; see docs/networking.md for why `auto` chooses as it does. */
export function chooseBackend(setting: NetworkBackendSetting): NetworkBackend {
  if (setting !== 'auto') return setting;
  return findPasta() ? AUTO_WITH_PASTA : 'slirp4netns';
}

/** What `auto` chooses when pasta is installed (bench/network.ts and bench/startup.ts measure both). */
const AUTO_WITH_PASTA: NetworkBackend = 'slirp4netns';

/**
 * The outbound link's program must be found before a sandbox is created: a missing one leaves nothing behind.
 * `backend`: the one --network named, else the setting's. `featureRecord`: where slirp4netns's probed
 * features are kept; `instead`: how the user would do without it.
 */
export async function prepareOutbound(named: NetworkBackend | undefined, featureRecord: string, instead?: string): Promise<OutboundSetup> {
  const backend = named ?? chooseBackend(readSettings().networkBackend);
  if (backend === 'pasta') return { backend, program: requirePasta(instead) };
  const program = requireSlirp4netns(instead);
  return { backend, program, features: await slirp4netnsFeatures(program, featureRecord) };
}

/** A running outbound link: slirp4netns, or pasta (with the sh that ends it). */
export interface OutboundLink {
  /** The processes to wait for once the sandbox has ended. */
  pids: number[];
  /** slirp4netns's API (UDP forwards, auto-forward); pasta has none. */
  api?: Slirp4netnsApi;
  /** It exits as the lifetime socket hangs up (slirp4netns); else a watcher ends it a moment after pid 1 (pasta). */
  endsWithLifetime: boolean;
  exited: Promise<void>;
  kill(): void;
}

/**
 * Links the namespace of `pid` to the host's network, ending when `lifetime` hangs up (slirp4netns) or `pid`
 * exits (pasta), which is the same moment: pid 1 holds the socket's other end. `udp`: UDP mappings
 * with their host ports, which pasta binds at its start (slirp4netns takes them through its API later).
 */
export async function startOutbound(
  setup: OutboundSetup,
  target: { pid: number; allowHostLoopback: boolean; udp?: readonly PortMapping[] },
  dir: string,
  lifetime: Socket,
  detached: boolean,
): Promise<OutboundLink> {
  if (setup.backend === 'pasta')
    return startPasta(setup.program, { pid: target.pid, allowHostLoopback: target.allowHostLoopback, udp: target.udp ?? [] }, dir, detached);
  const slirp = await startSlirp4netns(
    setup.program,
    { pid: target.pid, allowHostLoopback: target.allowHostLoopback, features: setup.features },
    dir,
    lifetime,
    detached,
  );
  return slirp4netnsLink(slirp);
}

function slirp4netnsLink(slirp: Slirp4netnsProcess): OutboundLink {
  return { pids: [slirp.pid], api: slirp.api, endsWithLifetime: true, exited: slirp.exited, kill: slirp.kill };
}

/** How long slirp4netns (and a port watcher) may take to notice that the sandbox has ended before it is killed. */
export const EXIT_GRACE_MS = 2000;
/** How long a foreground command runs before its port watcher starts: one of the watcher's scans (native/ports.c SCAN_MS). */
const WATCHER_START_DELAY_MS = 200;

/** A sandbox whose namespaces exist: its pid 1, as this process sees it, and a socket that hangs up when that exits (launch.ts). */
export interface NetworkedSandbox {
  pid: number;
  lifetime: Socket;
  /** Its slirp4netns, when the helper started it (a container's): then it is linked already. */
  outbound?: Slirp4netnsProcess;
}

/**
 * The outbound link attached to the sandbox, with `options.publish` in place (`published`: with the host
 * ports picked for those that had none); on failure nothing stays running. `detached`: it outlives this
 * process (a live sandbox's does). `otherHostPort`: see publishPorts. `stop` ends the link and the port
 * forwarder (a later step failed).
 */
export async function startNetwork(
  setup: OutboundSetup,
  sandbox: NetworkedSandbox,
  options: Pick<NetworkOptions, 'allowHostLoopback' | 'publish'>,
  dir: string,
  how: { detached: boolean; otherHostPort?: OtherHostPort },
): Promise<{ link: OutboundLink; published: PortMapping[]; forwarder?: PortForwarderProcess; stop(): Promise<void> }> {
  // pasta binds its UDP ports when it starts, each on the container's port.
  const pastaUdp = setup.backend === 'pasta' ? options.publish.filter((m) => m.protocol === 'udp') : [];
  for (const m of pastaUdp) {
    const refusal = pastaUdpRefusal(m);
    if (refusal) throw refusal;
  }
  const link = sandbox.outbound
    ? slirp4netnsLink(sandbox.outbound)
    : await startOutbound(setup, { pid: sandbox.pid, allowHostLoopback: options.allowHostLoopback, udp: pastaUdp }, dir, sandbox.lifetime, how.detached);
  try {
    const rest = setup.backend === 'pasta' ? options.publish.filter((m) => m.protocol === 'tcp') : options.publish;
    const { mappings, forwarder } = await publishPorts({ sandbox, dir, detached: how.detached, api: link.api }, rest, how.otherHostPort);
    const stop = async () => {
      link.kill();
      forwarder?.kill();
      await Promise.all([link.exited, forwarder?.exited]);
    };
    // In the order given.
    const published = setup.backend === 'pasta' ? options.publish.map((m) => (m.protocol === 'tcp' ? mappings.shift()! : pastaUdp.shift()!)) : mappings;
    return { link, published, forwarder, stop };
  } catch (error) {
    link.kill();
    await link.exited;
    throw error;
  }
}

export function publishedForwards(publish: readonly PortMapping[], attributes?: PortAttributeRules): PortForward[] {
  return labelForwards(
    publish.map((m) => ({ ...m, origin: 'publish' })),
    attributes,
  );
}

/** Each forward with the label the project gives its container port, if any. */
export function labelForwards(forwards: readonly PortForward[], attributes: PortAttributeRules | undefined): PortForward[] {
  return forwards.map((forward) => {
    const { label } = attributesOf(forward.containerPort, attributes);
    return label ? { ...forward, label } : forward;
  });
}

export interface SandboxNetwork {
  /** The -p mappings in place, with the host ports picked for those that had none. */
  published: PortMapping[];
  /** Once the command may run (the go sent) and before the lifetime socket is closed: what need not delay it. */
  started?(): Promise<void>;
  /** Once the sandbox has ended: waits until slirp4netns, the port forwarder and the watcher are gone. */
  close(): Promise<void>;
}

/** The port watcher's end; `onError` gets its last line when it stopped with a failure. */
function watchWatcher(watcher: ChildProcess, onError: (message: string) => void): { watcher: ChildProcess; exited: Promise<void> } {
  let stderr = '';
  watcher.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) =>
    watcher.once('exit', (code) => {
      if (code)
        onError(
          stderr
            .trim()
            .split('\n')
            .pop()
            ?.replace(/^devbox-helper: /, '') || `exit status ${code}`,
        );
      resolve();
    }),
  );
  return { watcher, exited };
}

/**
 * The network of a sandbox that runs in the foreground: slirp4netns and the watcher end with this process's
 * wait. `onError`: the watcher stopped with this line, or could not start (the sandbox runs on without
 * auto-forward).
 */
export async function attachSandboxNetwork(
  setup: OutboundSetup,
  sandbox: NetworkedSandbox,
  options: NetworkOptions,
  dir: string,
  onError: (message: string) => void,
): Promise<SandboxNetwork> {
  const { link, published, forwarder } = await startNetwork(setup, sandbox, options, dir, { detached: false });
  let watched: { watcher: ChildProcess; exited: Promise<void> } | undefined;
  let pending: NodeJS.Timeout | undefined;
  let starting: Promise<void> | undefined;
  const startWatcher = async () => {
    try {
      watched = watchWatcher(await startPortWatcher(dir, sandbox, options.publish, 'pipe'), onError);
    } catch (error) {
      onError(describeError(error));
    }
  };
  return {
    published,
    // The watcher (slirp4netns only: it speaks its API) starts once the command has run for one of its scans:
    // its start is a fork of this process, which a short command (most of `run --rm`) would wait for at its
    // end and never need, and a listener is forwarded at most one scan later, the watcher finding at its
    // first scan what listens already. The published container ports it leaves alone are those asked for,
    // whatever host ports they get.
    async started() {
      if (!options.autoForward || setup.backend !== 'slirp4netns') return;
      pending = setTimeout(() => {
        pending = undefined;
        // Detached from (the detach keys) meanwhile: this process is about to go, and the watcher with it.
        if (!sandbox.lifetime.destroyed) starting = startWatcher();
      }, WATCHER_START_DELAY_MS).unref();
    },
    async close() {
      clearTimeout(pending);
      await starting;
      // pasta's watcher would notice only at its next look: the sandbox has ended, so it goes now.
      if (!link.endsWithLifetime) link.kill();
      const timer = setTimeout(() => {
        link.kill();
        forwarder?.kill();
        watched?.watcher.kill();
      }, EXIT_GRACE_MS);
      await Promise.all([link.exited, forwarder?.exited, watched?.exited]);
      clearTimeout(timer);
    },
  };
}
