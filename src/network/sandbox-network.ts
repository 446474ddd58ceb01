/**
 * A slirp4netns network for one sandbox: slirp4netns attached to its network namespace before anything runs
 * in it, the -p mappings published (the caller records them for `devbox ports`), and the auto-forward
 * watcher (auto-forward.ts, which records its own). On any failure nothing stays running. A foreground
 * `devbox run` waits for both; a live project sandbox, which outlives the command that starts it, has them
 * detached.
 */
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { startPortWatcher } from './auto-forward.js';
import { attributesOf, type NetworkOptions, type PortAttributeRules } from './options.js';
import type { PortMapping } from './port-mapping.js';
import type { PortForwarderProcess } from '../runtime/port-forwarder.js';
import { publishPorts, type OtherHostPort } from './publish.js';
import { requireSlirp4netns, slirp4netnsFeatures, startSlirp4netns, type Slirp4netnsFeatures, type Slirp4netnsProcess } from './slirp4netns.js';

export interface PortForward extends PortMapping {
  /** `publish` for -p, `auto` for a listener found by auto-forward. */
  origin: 'publish' | 'auto';
  /** What the project calls the port (devcontainer.json's portsAttributes label). */
  label?: string;
}

export interface Slirp4netnsSetup {
  program: string;
  features: Slirp4netnsFeatures;
}

/** slirp4netns must be ready before a sandbox is created: a missing program leaves nothing behind. `instead`: see requireSlirp4netns. */
export async function prepareSlirp4netns(featureRecord: string, instead?: string): Promise<Slirp4netnsSetup> {
  const program = requireSlirp4netns(instead);
  return { program, features: await slirp4netnsFeatures(program, featureRecord) };
}

/** How long slirp4netns (and a port watcher) may take to notice that the sandbox has ended before it is killed. */
export const EXIT_GRACE_MS = 2000;

/** A sandbox whose namespaces exist: its pid 1, as this process sees it, and a socket that hangs up when that exits (launch.ts). */
export interface NetworkedSandbox {
  pid: number;
  lifetime: Socket;
}

/**
 * slirp4netns attached to the sandbox, with `options.publish` in place (`published`: with the host ports
 * picked for those that had none); on failure nothing stays running. `detached`: it outlives this process (a
 * live sandbox's does). `otherHostPort`: see publishPorts. `stop` ends slirp4netns and the port forwarder (a
 * later step failed).
 */
export async function startNetwork(
  setup: Slirp4netnsSetup,
  sandbox: NetworkedSandbox,
  options: Pick<NetworkOptions, 'allowHostLoopback' | 'publish'>,
  dir: string,
  how: { detached: boolean; otherHostPort?: OtherHostPort },
): Promise<{ slirp: Slirp4netnsProcess; published: PortMapping[]; forwarder?: PortForwarderProcess; stop(): Promise<void> }> {
  const slirp = await startSlirp4netns(
    setup.program,
    { pid: sandbox.pid, allowHostLoopback: options.allowHostLoopback, features: setup.features },
    dir,
    sandbox.lifetime,
    how.detached,
  );
  try {
    const { mappings, forwarder } = await publishPorts({ sandbox, dir, detached: how.detached, api: slirp.api }, options.publish, how.otherHostPort);
    const stop = async () => {
      slirp.kill();
      forwarder?.kill();
      await Promise.all([slirp.exited, forwarder?.exited]);
    };
    return { slirp, published: mappings, forwarder, stop };
  } catch (error) {
    slirp.kill();
    await slirp.exited;
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
 * wait. `onError`: the watcher stopped with this line (the sandbox runs on without auto-forward).
 */
export async function attachSandboxNetwork(
  setup: Slirp4netnsSetup,
  sandbox: NetworkedSandbox,
  options: NetworkOptions,
  dir: string,
  onError: (message: string) => void,
): Promise<SandboxNetwork> {
  // The watcher starts while slirp4netns sets up (each start is a fork of this process, which blocks it): it
  // talks to slirp4netns only once a listener appears, after the go. The published container ports it leaves
  // alone are those asked for, whatever host ports they get.
  const network = startNetwork(setup, sandbox, options, dir, { detached: false });
  const watching = options.autoForward ? startPortWatcher(dir, sandbox, options.publish, 'pipe').then((w) => watchWatcher(w, onError)) : undefined;
  const [started, watcherStarted] = await Promise.allSettled([network, watching]);
  if (started.status === 'rejected' || watcherStarted.status === 'rejected') {
    if (started.status === 'fulfilled') await started.value.stop();
    if (watcherStarted.status === 'fulfilled') watcherStarted.value?.watcher.kill('SIGKILL');
    throw started.status === 'rejected' ? started.reason : (watcherStarted as PromiseRejectedResult).reason;
  }
  const { slirp, published, forwarder } = started.value;
  const watcher = watcherStarted.value?.watcher;
  const watcherExited = watcherStarted.value?.exited;
  return {
    published,
    async close() {
      const timer = setTimeout(() => {
        slirp.kill();
        forwarder?.kill();
        watcher?.kill();
      }, EXIT_GRACE_MS);
      await Promise.all([slirp.exited, forwarder?.exited, watcherExited]);
      clearTimeout(timer);
    },
  };
}
