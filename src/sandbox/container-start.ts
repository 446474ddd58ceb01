/**
 * Starting a container: its root file system assembled, the files bound over /etc written, and the native
 * helper spawned as its supervisor (--container, native/README.md), which records everything from then on in
 * state.json. In the foreground (`run`, `start -a`) the supervisor is devbox's child and relays its stdio; the
 * detach keys leave it running on its own. Detached (`run -d`, `start`) it outlives devbox from the start.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { eventsLog } from '../container/events.js';
import { containerSecurity, LOG_FILE, SUPERVISOR_LOG, type ContainerRecord } from '../container/records.js';
import type { ImageStore } from '../image/store.js';
import { hostResolvConf, networkHostsEntries, slirpResolvConf } from '../network/dns.js';
import type { NetworkOptions } from '../network/options.js';
import { attachSandboxNetwork, prepareSlirp4netns, publishedForwards, type SandboxNetwork } from '../network/sandbox-network.js';
import { readPid, spawnContainerSupervisor, SYNC_FD } from '../runtime/launch.js';
import { containerArgs, type SandboxSpec, type Supervision } from '../runtime/spec.js';
import { DevboxError } from '../util/errors.js';
import { signalNumber } from '../util/signals.js';
import { warn } from '../util/warn.js';
import { clearPorts, nameFileMounts, writeNameFiles, writePorts } from './containers.js';
import { attachLiveNetwork } from './live-network.js';
import { assembleRootfs } from './rootfs.js';

/** Where the supervisor reports "up PID" (and, in the foreground, "detached"). */
const NOTIFY_FD = 4;

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

function supervision(store: ImageStore, record: ContainerRecord, dir: string, request: StartRequest): Supervision {
  const h = record.healthcheck;
  const health =
    h && h.test[0] !== 'NONE' && h.test.length > 1
      ? { args: h.test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', h.test.slice(1).join(' ')] : h.test.slice(1), ...h }
      : undefined;
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
  };
}

/** The first line on the notify pipe, or undefined when the supervisor ended first. */
function readLine(stream: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      stream.off('data', onData);
      resolve(text.slice(0, nl));
    };
    stream.on('data', onData);
    stream.once('end', () => resolve(undefined));
    stream.once('error', () => resolve(undefined));
  });
}

/** Why a detached start failed: the last line the supervisor (or pid 1) wrote. */
function failure(record: ContainerRecord, dir: string): DevboxError {
  let line = 'no message';
  try {
    const lines = readFileSync(join(dir, SUPERVISOR_LOG), 'utf8').trim().split('\n');
    line = lines[lines.length - 1].replace(/^devbox-helper: /, '') || line;
  } catch {
    // removed with the container (--rm)
  }
  return new DevboxError(`container ${record.name} failed to start: ${line}`, { fix: 'see "devbox logs" and "devbox doctor"' });
}

export async function startContainer(store: ImageStore, record: ContainerRecord, dir: string, request: StartRequest): Promise<StartOutcome> {
  const image = await store.resolve(record.image);
  const lowerDirs = await store.layerDirs(image, record.idMapping);
  const network: NetworkOptions = { ...record.network, autoForward: request.autoForward && !request.detach };
  const slirp = network.mode === 'slirp4netns' ? await prepareSlirp4netns(join(store.root, 'slirp4netns.json'), 'run with --network host') : undefined;
  const names = writeNameFiles(dir, record.hostname, networkHostsEntries(network, record.hostname), slirp ? slirpResolvConf(hostResolvConf()) : undefined);
  clearPorts(dir);
  const spec: SandboxSpec = {
    idMapping: record.idMapping,
    rootfs: await assembleRootfs(record.storage, record.idMapping, lowerDirs, dir),
    mounts: [...nameFileMounts(names), ...record.mounts],
    tmpfs: record.tmpfs,
    hostname: record.hostname,
    network: network.mode,
    process: record.process,
    // Docker mounts nothing over the image's /tmp (only --tmpfs /tmp does).
    imageTmp: true,
    removeAfterExit: record.autoRemove ? dir : undefined,
    security: containerSecurity(record),
    seccompCache: join(store.root, 'seccomp'),
  };
  const args = containerArgs(spec, supervision(store, record, dir, request), slirp ? SYNC_FD : undefined);
  const messages = openSync(join(dir, SUPERVISOR_LOG), 'w', 0o600);
  const stdio = request.detach
    ? (['ignore', 'ignore', messages, slirp ? 'pipe' : 'ignore', 'pipe'] as const)
    : ([request.stdin, 'inherit', 'inherit', slirp ? 'pipe' : 'ignore', 'pipe'] as const);
  const { child, exit } = spawnContainerSupervisor(args, { detach: request.detach, cwd: dir, stdio: [...stdio] });
  closeSync(messages);
  const notify = child.stdio[NOTIFY_FD] as Socket;
  const up = readLine(notify);
  let attached: SandboxNetwork | undefined;
  if (slirp) {
    const sync = child.stdio[SYNC_FD] as Socket;
    const pid = await readPid(sync);
    if (pid !== undefined) {
      try {
        if (request.detach) await attachLiveNetwork(slirp, { pid, lifetime: sync }, network, dir, () => '');
        else {
          attached = await attachSandboxNetwork(slirp, { pid, lifetime: sync }, network, dir, (message) => warn(`port auto-forward stopped: ${message}`));
          writePorts(dir, publishedForwards(network.publish));
        }
      } catch (error) {
        sync.destroy(); // the helper reads end of file and ends: nothing was started
        await exit;
        throw error;
      }
      await new Promise<void>((resolve) => sync.write('g', () => resolve()));
    }
    sync.destroy();
  }
  const first = await Promise.race([up, exit.then(() => undefined)]);
  if (request.detach) {
    notify.destroy();
    if (!first?.startsWith('up ')) throw failure(record, dir);
    child.unref();
    return { started: Number(first.slice(3)) };
  }
  // Foreground: the command's status, unless the detach keys leave it running.
  const second = first?.startsWith('up ') ? await Promise.race([readLine(notify), exit.then(() => undefined)]) : first;
  if (second === 'detached') {
    notify.destroy();
    child.unref();
    return { detached: true };
  }
  const status = await exit;
  await attached?.close();
  return { exited: status };
}
