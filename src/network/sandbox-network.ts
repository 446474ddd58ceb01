/**
 * A slirp4netns network for one sandbox: slirp4netns attached to its network namespace before anything runs
 * in it, the -p mappings published, and the auto-forward watcher, with every forward reported to the caller
 * (who records them for `devbox ports`). On any failure nothing stays running.
 */
import type { Socket } from 'node:net';
import { AutoForwarder } from './auto-forward.js';
import type { NetworkOptions } from './options.js';
import type { PortMapping } from './port-mapping.js';
import { publishPorts } from './publish.js';
import { requireSlirp4netns, slirp4netnsFeatures, startSlirp4netns, type Slirp4netnsFeatures } from './slirp4netns.js';

export interface PortForward extends PortMapping {
  /** `publish` for -p, `auto` for a listener found by auto-forward. */
  origin: 'publish' | 'auto';
}

export interface Slirp4netnsSetup {
  program: string;
  features: Slirp4netnsFeatures;
}

/** slirp4netns must be ready before a container is created: a missing program leaves nothing behind. */
export async function prepareSlirp4netns(featureRecord: string): Promise<Slirp4netnsSetup> {
  const program = requireSlirp4netns();
  return { program, features: await slirp4netnsFeatures(program, featureRecord) };
}

/** How long slirp4netns may take to notice that the sandbox has ended before it is killed. */
const EXIT_GRACE_MS = 2000;

export interface SandboxNetwork {
  /** Once the sandbox has ended: stops watching and waits until slirp4netns is gone. */
  close(): Promise<void>;
}

export async function attachSandboxNetwork(
  setup: Slirp4netnsSetup,
  /** Its pid 1, as this process sees it, and a socket that hangs up when that exits (launch.ts gives both). */
  sandbox: { pid: number; lifetime: Socket },
  options: NetworkOptions,
  dir: string,
  onChange: (forwards: readonly PortForward[]) => void,
  onError: (error: unknown) => void,
): Promise<SandboxNetwork> {
  const slirp = await startSlirp4netns(setup.program, { pid: sandbox.pid, allowHostLoopback: options.allowHostLoopback, features: setup.features }, dir, sandbox.lifetime);
  try {
    await publishPorts(slirp.api, options.publish);
  } catch (error) {
    slirp.kill();
    await slirp.exited;
    throw error;
  }
  const published: PortForward[] = options.publish.map((m) => ({ ...m, origin: 'publish' }));
  const report = (auto: readonly PortMapping[]) => onChange([...published, ...auto.map((m): PortForward => ({ ...m, origin: 'auto' }))]);
  report([]);
  const forwarder = options.autoForward ? new AutoForwarder({ pid: sandbox.pid, api: slirp.api, published: options.publish, onChange: report, onError }) : undefined;
  forwarder?.start();
  return {
    async close() {
      await forwarder?.stop();
      const timer = setTimeout(() => slirp.kill(), EXIT_GRACE_MS);
      await slirp.exited;
      clearTimeout(timer);
    },
  };
}
