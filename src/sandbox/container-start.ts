/**
 * Starting a container: its root file system assembled, the files bound over /etc written, and the native
 * helper spawned as its supervisor (--container, native/README.md), which records everything from then on in
 * state.json. In the foreground (`run`, `start -a`) the supervisor is devbox's child and relays its stdio; the
 * detach keys leave it running on its own. Detached (`run -d`, `start`) it outlives devbox from the start.
 */
import { closeSync, copyFileSync, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventsLog } from '../container/events.js';
import { containerSecurity, LOG_FILE, SUPERVISOR_LOG, type ContainerRecord } from '../container/records.js';
import type { ImageStore } from '../image/store.js';
import { bridgeResolvConf, extraHostsEntries, hostResolvConf } from '../network/dns.js';
import { requireNetwork } from '../network/networks.js';
import { ownerToNestIn } from '../network/owner.js';
import type { NetworkOptions } from '../network/options.js';
import { attachSandboxNetwork, type NetworkedSandbox, type OutboundSetup, publishedForwards, type SandboxNetwork } from '../network/sandbox-network.js';
import { HELPER_PID, SLIRP4NETNS_LOG, slirp4netnsArgs, slirp4netnsFailure, startedByHelper } from '../network/slirp4netns.js';
import { lastHelperMessage } from '../runtime/helper.js';
import { readSyncReport, spawnContainerSupervisor, SYNC_FD } from '../runtime/launch.js';
import { containerArgs, type SandboxSpec, type Supervision } from '../runtime/spec.js';
import { type IdMapping, nestIdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import { signalNumber } from '../util/signals.js';
import { warn } from '../util/warn.js';
import { nameFileMounts, writeJoinedNetworks, writeNameFiles, writeNetworkOwner, writePorts } from './containers.js';
import { attachLiveNetwork, publishOnNetwork, sharedNetworkOwner } from './live-network.js';
import { type AutoRemoval, finishAutoRemoval, removeLeftovers } from './container-removal.js';
import { prepareStart } from './start-preparation.js';
import { deviceBinds } from '../runtime/devices.js';
import { prepareContainerCgroup } from '../runtime/cgroups.js';

/** Where the supervisor reports "up PID" (and, in the foreground, "detached"). */
const NOTIFY_FD = 4;
const AUTO_REMOVE_WORKER = fileURLToPath(new URL('./auto-remove-worker.js', import.meta.url));

/**
 * A --rm container's supervisor removes its directory when it ends, and then runs this to finish the removal
 * (name, destroy event, anonymous volumes): devbox may be long gone by then (-d, the detach keys).
 */
function autoRemoval(store: ImageStore, record: ContainerRecord): AutoRemoval | undefined {
  if (!record.autoRemove) return undefined;
  return {
    storeRoot: store.root,
    container: { id: record.id, name: record.name, volumes: record.volumes, idMapping: record.idMapping, resources: record.resources },
  };
}

export interface StartRequest {
  /** Outlive this command from the start; else relay stdio and wait. */
  detach: boolean;
  /** The foreground's stdin goes to the command (-i). */
  stdin: 'inherit' | 'ignore';
  /** ctrl-p,ctrl-q by default: bytes that detach the caller's terminal. */
  detachKeys: number[];
  autoForward: boolean;
}

/** How a foreground start ended: the command's status, or the caller detached and it runs on. */
export type StartOutcome = { exited: number } | { detached: true } | { started: number };

function supervision(store: ImageStore, record: ContainerRecord, dir: string, request: StartRequest, slirp?: OutboundSetup): Supervision {
  const h = record.healthcheck;
  const health =
    h && h.test[0] !== 'NONE' && h.test.length > 1
      ? { args: h.test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', h.test.slice(1).join(' ')] : h.test.slice(1), ...h }
      : undefined;
  const removal = autoRemoval(store, record);
  return {
    dir,
    detach: request.detach,
    notifyFd: NOTIFY_FD,
    interactive: record.interactive,
    log: { path: join(dir, LOG_FILE), maxSize: record.log.maxSize, maxFiles: record.log.maxFiles },
    events: eventsLog(store.root),
    restart: record.restartPolicy,
    stopSignal: signalNumber(record.stopSignal),
    detachKeys: request.detachKeys,
    health: health && {
      args: health.args,
      interval: h!.interval,
      timeout: h!.timeout,
      startPeriod: h!.startPeriod,
      startInterval: h!.startInterval,
      retries: h!.retries,
    },
    ...(removal ? { exitCommand: [process.execPath, AUTO_REMOVE_WORKER, JSON.stringify(removal)] } : {}),
    // The helper starts slirp4netns (pasta is started here, once the helper reports pid 1).
    ...(slirp?.backend === 'slirp4netns'
      ? {
          slirp4netns: {
            command: [slirp.program, ...slirp4netnsArgs({ allowHostLoopback: record.network.allowHostLoopback, features: slirp.features }, HELPER_PID)],
            log: join(dir, SLIRP4NETNS_LOG),
          },
        }
      : {}),
  };
}

/** The supervisor's notify socket, line by line; `next` gives undefined once it has ended. */
class NotifyLines {
  #buffered = '';
  #ended = false;
  #waiting?: () => void;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffered += chunk.toString('latin1');
      this.#waiting?.();
    });
    const end = () => {
      this.#ended = true;
      this.#waiting?.();
    };
    socket.once('end', end);
    socket.once('error', end);
  }

  async next(): Promise<string | undefined> {
    for (;;) {
      const nl = this.#buffered.indexOf('\n');
      if (nl >= 0) {
        const line = this.#buffered.slice(0, nl);
        this.#buffered = this.#buffered.slice(nl + 1);
        return line;
      }
      if (this.#ended) return undefined;
      await new Promise<void>((resolve) => (this.#waiting = resolve));
      this.#waiting = undefined;
    }
  }
}

/** Why a detached start failed: the last line the supervisor (or pid 1) wrote. */
function failure(record: ContainerRecord, dir: string): DevboxError {
  const line = lastHelperMessage(join(dir, SUPERVISOR_LOG));
  return new DevboxError(`container ${record.name} failed to start: ${line}`, { fix: 'see "devbox logs" and "devbox doctor"' });
}

/**
 * The user namespace a container's is made in: the store's owner's (network/owner.ts), and how it joins its
 * network there: through a devbox network's holder, or another container's namespace (made in that one's).
 */
interface Placement {
  nestIn: { pid: number; shareNet: boolean };
  /** Outer ids: the map of the namespace the container's is made in. */
  outerMapping: IdMapping;
  /** Between the namespaces' creation and the start: gives the network, writes the name files. */
  attach?(pid: number): Promise<void>;
}

function nestedMapping(outer: IdMapping, mapping: IdMapping): IdMapping {
  const nested = nestIdMapping(outer, mapping);
  if (!nested) throw new DevboxError("the container's id map is not inside its network's", { fix: 'recreate the container (devbox rm, devbox run)' });
  return nested;
}

export async function startContainer(store: ImageStore, record: ContainerRecord, dir: string, request: StartRequest): Promise<StartOutcome> {
  const attachments = record.network.networks ?? [];
  if (attachments.length) {
    const networks = attachments.map((a) => requireNetwork(store.root, a.name));
    // Loaded only for a container on a devbox network: `devbox run` on slirp4netns never needs it.
    const { attachToNetworks, joinNetworks } = await import('../network/bridge.js');
    const { owner, holders, release } = await joinNetworks(store.root, networks);
    try {
      return await launchContainer(store, record, dir, request, {
        nestIn: { pid: owner.pid, shareNet: false },
        outerMapping: owner.idMapping,
        async attach(pid) {
          try {
            const aliases = (network: string) => attachments.find((a) => a.name === network)?.aliases ?? [];
            const given = await attachToNetworks(holders, pid, (network) => ({
              names: [record.name, ...aliases(network.name), record.hostname],
              upstream: record.network.names?.dns ?? [],
            }));
            writeJoinedNetworks(dir, given);
            writeNetworkOwner(dir, owner);
            // As Docker: the host name on the first network's addresses, the first network's resolver.
            const first = given[networks[0]!.name]!;
            const hosts = [
              ...[first.address, ...(first.address6 ? [first.address6] : [])].map((address) => `${address}\t${record.hostname} ${record.name}`),
              ...extraHostsEntries(record.network.names?.extraHosts ?? []),
            ];
            writeNameFiles(dir, record.hostname, hosts, bridgeResolvConf(first.gateway, hostResolvConf(), record.network.names));
          } finally {
            // A member now, with its links: nothing it joined can go. Not held while it runs in the foreground.
            await release();
          }
        },
      });
    } finally {
      await release();
    }
  }
  if (record.network.shareWith) {
    const target = sharedNetworkOwner(store.root, record.network.shareWith);
    return launchContainer(store, record, dir, request, {
      nestIn: { pid: target.state.pid, shareNet: true },
      outerMapping: target.config.idMapping,
      async attach() {
        // Its names are the other container's, as Docker's: the same hosts and resolver.
        for (const file of ['hosts', 'resolv.conf']) copyFileSync(join(target.dir, file), join(dir, file));
      },
    });
  }
  const owner = await ownerToNestIn(store.root, record.idMapping);
  return launchContainer(store, record, dir, request, owner && { nestIn: { pid: owner.pid, shareNet: false }, outerMapping: owner.idMapping });
}

async function launchContainer(store: ImageStore, record: ContainerRecord, dir: string, request: StartRequest, placement?: Placement): Promise<StartOutcome> {
  const network: NetworkOptions = { ...record.network, autoForward: request.autoForward && !request.detach };
  const { slirp, rootfs, names } = await prepareStart(store, {
    image: await store.resolve(record.image),
    dir,
    mapping: record.idMapping,
    driver: record.storage,
    hostname: record.hostname,
    network,
    withoutSlirp4netns: 'run with --network host',
  });
  const spec: SandboxSpec = {
    idMapping: placement ? nestedMapping(placement.outerMapping, record.idMapping) : record.idMapping,
    rootfs,
    mounts: [...nameFileMounts(names), ...record.mounts, ...deviceBinds(record.devices)],
    tmpfs: record.tmpfs,
    hostname: record.hostname,
    network: network.mode,
    nestIn: placement?.nestIn,
    process: record.process,
    // Docker mounts nothing over the image's /tmp (only --tmpfs /tmp does).
    imageTmp: true,
    removeAfterExit: record.autoRemove ? dir : undefined,
    security: containerSecurity(record),
    seccompCache: join(store.root, 'seccomp'),
    cgroup: prepareContainerCgroup(record.id, record.resources),
  };
  const sync = slirp || placement?.attach;
  const args = containerArgs(spec, supervision(store, record, dir, request, slirp), sync ? SYNC_FD : undefined);
  const messages = openSync(join(dir, SUPERVISOR_LOG), 'w', 0o600);
  const stdio = request.detach
    ? (['ignore', 'ignore', messages, sync ? 'pipe' : 'ignore', 'pipe'] as const)
    : ([request.stdin, 'inherit', 'inherit', sync ? 'pipe' : 'ignore', 'pipe'] as const);
  const { child, exit } = spawnContainerSupervisor(args, { detach: request.detach, cwd: dir, stdio: [...stdio] });
  closeSync(messages);
  const notify = child.stdio[NOTIFY_FD] as Socket;
  const lines = new NotifyLines(notify);
  const nextLine = () => Promise.race([lines.next(), exit.then(() => undefined)]);
  // Before the go only `setup-failed` can come: pid 1 failed (it said why, on stderr or in the log).
  const firstLine = nextLine();
  let attached: SandboxNetwork | undefined;
  let lifetime: Socket | undefined;
  if (sync) {
    const sync = child.stdio[SYNC_FD] as Socket;
    const report = await readSyncReport(sync);
    if (report === 'slirp4netns-failed') {
      await exit; // the helper has ended slirp4netns and pid 1: nothing writes in the directory any more
      throw slirp4netnsFailure(dir);
    }
    if (report !== undefined) {
      const { pid } = report;
      const outbound = report.outbound ? startedByHelper(report.outbound, dir, exit) : undefined;
      const sandbox: NetworkedSandbox = { pid, lifetime: sync, ...(outbound ? { outbound } : {}) };
      const attachNetwork = async (): Promise<SandboxNetwork | undefined> => {
        if (placement?.attach) {
          await placement.attach(pid);
          const { mappings, forwarder } = await publishOnNetwork(sandbox, network, dir, request.detach);
          return { published: mappings, close: async () => forwarder?.exited };
        }
        if (request.detach) {
          await attachLiveNetwork(slirp!, sandbox, network, dir, () => '');
          return undefined;
        }
        const live = await attachSandboxNetwork(slirp!, sandbox, network, dir, (message) => warn(`port auto-forward stopped: ${message}`));
        writePorts(dir, publishedForwards(live.published));
        return live;
      };
      // pid 1 sets up meanwhile (--setup-during-sync). If that fails, the supervisor says `setup-failed` (and
      // goes on to report it) before anything else; the attach, whose programs end with pid 1, is then undone.
      const setupFailed = firstLine.then((line) => line === 'setup-failed');
      const settled = attachNetwork().then(
        (network) => ({ network }),
        (error: unknown) => ({ error }),
      );
      const failedFirst = await Promise.race([setupFailed, settled.then(() => false)]);
      const result = await settled;
      if ('error' in result) {
        sync.destroy(); // end of file: a helper still waiting for the go ends, nothing started
        if (!(await setupFailed)) throw result.error;
      } else if (failedFirst) await result.network?.close();
      else {
        attached = result.network;
        await new Promise<void>((resolve) => sync.write('g', () => resolve()));
        await attached?.started?.();
      }
    }
    // A foreground network's port watcher may start with it a while after the go (sandbox-network.ts): kept
    // until its close, without holding this process up should it end sooner.
    if (attached?.started) lifetime = sync.unref();
    else sync.destroy();
  }
  const first = await firstLine;
  if (request.detach) {
    notify.destroy();
    if (!first?.startsWith('up ')) throw failure(record, dir);
    child.unref();
    return { started: Number(first.slice(3)) };
  }
  // Foreground: the command's status, unless the detach keys leave it running.
  const second = first?.startsWith('up ') || first === 'setup-failed' ? await nextLine() : first;
  if (second === 'detached') {
    notify.destroy();
    lifetime?.destroy();
    child.unref();
    return { detached: true };
  }
  if (second === 'exit-command') {
    // The supervisor has removed the --rm container's directory and waits while this process does the rest.
    const problem = await finishAutoRemoval(autoRemoval(store, record)!);
    if (problem) warn(problem);
    notify.write('k');
  }
  const status = await exit;
  await attached?.close();
  lifetime?.destroy();
  return { exited: status };
}

/** startContainer, and a --rm container removed when it did not start or has ended in the foreground. */
export async function startAndSettle(store: ImageStore, record: ContainerRecord, dir: string, request: StartRequest): Promise<StartOutcome> {
  let outcome: StartOutcome;
  try {
    outcome = await startContainer(store, record, dir, request);
  } catch (error) {
    if (record.autoRemove) await removeLeftovers(store.root, record, dir);
    throw error;
  }
  if ('exited' in outcome && record.autoRemove) await removeLeftovers(store.root, record, dir);
  return outcome;
}
