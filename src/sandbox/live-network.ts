/**
 * The slirp4netns network of a live project sandbox. The sandbox outlives the devbox command that starts it,
 * so slirp4netns and the auto-forward watcher (network/auto-forward.ts) are detached; both are handed the sandbox's
 * lifetime socket and end when its pid 1 does, whoever ends it (devbox stop, a kill of pid 1 or of its helper).
 * Their pids go into the sandbox's state so that stopping it waits until they are gone (their host ports free).
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { startPortWatcher } from '../network/auto-forward.js';
import type { NetworkOptions } from '../network/options.js';
import type { OtherHostPort } from '../network/publish.js';
import { publishedForwards, startNetwork, type NetworkedSandbox, type Slirp4netnsSetup } from '../network/sandbox-network.js';
import { startTimeOf } from '../util/processes.js';
import { writePortAttributes, writePorts } from './containers.js';
import type { ProcessRecord } from './live-state.js';

const WATCHER_LOG = 'port-watcher.log';

function record(pid: number): ProcessRecord {
  return { pid, start: startTimeOf(pid) ?? '' };
}

/** Attaches the network to the sandbox before it is released; on failure nothing of it stays running. */
export async function attachLiveNetwork(
  setup: Slirp4netnsSetup,
  sandbox: NetworkedSandbox,
  options: NetworkOptions,
  dir: string,
  otherHostPort: OtherHostPort,
): Promise<ProcessRecord[]> {
  const slirp = await startNetwork(setup, sandbox, options, dir, { detached: true, otherHostPort });
  writePorts(dir, publishedForwards(options.publish, options.portAttributes));
  if (!options.autoForward) return [record(slirp.pid)];
  if (options.portAttributes) writePortAttributes(dir, options.portAttributes);
  const log = openSync(join(dir, WATCHER_LOG), 'w', 0o600);
  try {
    const watcher = await startPortWatcher(dir, sandbox, options.publish, log, options.portAttributes);
    return [record(slirp.pid), record(watcher.pid!)];
  } catch (error) {
    slirp.kill();
    await slirp.exited;
    throw error;
  } finally {
    closeSync(log);
  }
}
