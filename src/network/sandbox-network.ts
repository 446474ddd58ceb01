/**
 * A slirp4netns network for one sandbox: slirp4netns attached to its network namespace before anything runs
 * in it, the -p mappings published, and the auto-forward watcher, with every forward reported to the caller
 * (who records them for `devbox ports`). On any failure nothing stays running. `devbox run` keeps both in its
 * own process; a live project sandbox, which outlives the command that starts it, has them detached.
 */
import type { Socket } from 'node:net';
import type { Slirp4netnsApi } from './api.js';
import { AutoForwarder } from './auto-forward.js';
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
 * live sandbox's does). `otherHostPort`: see publishPorts.
 */
export async function startNetwork(
  setup: Slirp4netnsSetup,
  sandbox: NetworkedSandbox,
  options: Pick<NetworkOptions, 'allowHostLoopback' | 'publish'>,
  dir: string,
  how: { detached: boolean; otherHostPort?: OtherHostPort },
): Promise<{ slirp: Slirp4netnsProcess; published: PortMapping[]; forwarder?: PortForwarderProcess }> {
  const slirp = await startSlirp4netns(
    setup.program,
    { pid: sandbox.pid, allowHostLoopback: options.allowHostLoopback, features: setup.features },
    dir,
    sandbox.lifetime,
    how.detached,
  );
  try {
    const { mappings, forwarder } = await publishPorts({ sandbox, dir, detached: how.detached, api: slirp.api }, options.publish, how.otherHostPort);
    return { slirp, published: mappings, forwarder };
  } catch (error) {
    slirp.kill();
    await slirp.exited;
    throw error;
  }
}

export function publishedForwards(publish: readonly PortMapping[], attributes?: PortAttributeRules): PortForward[] {
  return publish.map((m) => withLabel({ ...m, origin: 'publish' }, attributes));
}

function withLabel(forward: PortForward, attributes: PortAttributeRules | undefined): PortForward {
  const { label } = attributesOf(forward.containerPort, attributes);
  return label ? { ...forward, label } : forward;
}

/** Auto-forward of the sandbox's new listeners; each change is reported with the published forwards first. */
export function watchForwards(
  sandbox: { pid: number; api: Slirp4netnsApi },
  publish: readonly PortMapping[],
  onChange: (forwards: readonly PortForward[]) => void,
  onError: (error: unknown) => void,
  attributes?: PortAttributeRules,
): AutoForwarder {
  const published = publishedForwards(publish, attributes);
  const report = (auto: readonly PortMapping[]) => onChange([...published, ...auto.map((m) => withLabel({ ...m, origin: 'auto' }, attributes))]);
  const ignore = attributes ? (port: number) => attributesOf(port, attributes).ignore === true : undefined;
  const forwarder = new AutoForwarder({ pid: sandbox.pid, api: sandbox.api, published: publish, onChange: report, onError, ignore });
  forwarder.start();
  return forwarder;
}

export interface SandboxNetwork {
  /** Once the sandbox has ended: stops watching and waits until slirp4netns is gone. */
  close(): Promise<void>;
}

/** The network of a sandbox that runs in the foreground: slirp4netns and the watcher end with this process's wait. */
export async function attachSandboxNetwork(
  setup: Slirp4netnsSetup,
  sandbox: NetworkedSandbox,
  options: NetworkOptions,
  dir: string,
  onChange: (forwards: readonly PortForward[]) => void,
  onError: (error: unknown) => void,
): Promise<SandboxNetwork> {
  const { slirp, published, forwarder } = await startNetwork(setup, sandbox, options, dir, { detached: false });
  onChange(publishedForwards(published));
  const watcher = options.autoForward ? watchForwards({ pid: sandbox.pid, api: slirp.api }, published, onChange, onError) : undefined;
  return {
    async close() {
      await watcher?.stop();
      const timer = setTimeout(() => {
        slirp.kill();
        forwarder?.kill();
      }, EXIT_GRACE_MS);
      await Promise.all([slirp.exited, forwarder?.exited]);
      clearTimeout(timer);
    },
  };
}
