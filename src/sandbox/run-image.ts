/**
 * `devbox run IMAGE [CMD…]`: create the container (container-create.ts), assemble its root file system with
 * the chosen backend, describe the sandbox and hand it to the native helper, which runs it in the foreground.
 * This is the hot path of devbox: it loads no oclif, execa or tar code unless a layer must be unpacked.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { appendEvent } from '../container/events.js';
import { releaseName } from '../container/names.js';
import { CREATED_STATE, writeState, type ContainerState } from '../container/records.js';
import { ImageStore } from '../image/store.js';
import { hostResolvConf, networkHostsEntries, slirpResolvConf } from '../network/dns.js';
import { attachSandboxNetwork, prepareSlirp4netns, type SandboxNetwork } from '../network/sandbox-network.js';
import { launchSandbox } from '../runtime/launch.js';
import type { SandboxSpec } from '../runtime/spec.js';
import { readSettings } from '../settings/settings.js';
import { removeAsNamespaceRoot } from '../userns/remove.js';
import { describeError } from '../util/errors.js';
import { startTimeOf } from '../util/processes.js';
import { warn } from '../util/warn.js';
import { createContainer, type CreatedContainer, type CreateOptions } from './container-create.js';
import { nameFileMounts, writeNameFiles, writePorts } from './containers.js';
import { assembleRootfs } from './rootfs.js';

/** `devbox run`'s options, as src/cli/run-options.ts parses them. */
export type RunOptions = CreateOptions;

/** A container's directory and name go once it is removed (--rm), whatever state it was left in. */
async function removeContainer(store: ImageStore, created: CreatedContainer): Promise<void> {
  const { record, dir } = created;
  if (existsSync(dir)) {
    // Its writable layer holds files of subordinate ids once anything ran in it.
    if (record.storage === 'copy' || existsSync(join(dir, 'upper'))) await removeAsNamespaceRoot(record.idMapping, [dir]);
    else rmSync(dir, { recursive: true, force: true });
  }
  releaseName(store.root, record.name, record.id);
  appendEvent(store.root, { action: 'destroy', id: record.id, name: record.name });
}

export async function runImage(options: RunOptions): Promise<number> {
  const settings = readSettings();
  const store = ImageStore.open(settings.storageRoot);
  const created = await createContainer(store, settings, options);
  const { record, dir, lowerDirs } = created;
  const network = { ...record.network, autoForward: settings.autoForward };
  let exitCode: number | undefined;
  try {
    const slirp = network.mode === 'slirp4netns' ? await prepareSlirp4netns(join(store.root, 'slirp4netns.json'), 'run with --network host') : undefined;
    const names = writeNameFiles(dir, record.hostname, networkHostsEntries(network, record.hostname), slirp ? slirpResolvConf(hostResolvConf()) : undefined);
    const spec: SandboxSpec = {
      idMapping: record.idMapping,
      rootfs: await assembleRootfs(record.storage, record.idMapping, lowerDirs, dir),
      mounts: [...nameFileMounts(names), ...record.mounts],
      hostname: record.hostname,
      network: network.mode,
      process: record.process,
      // A private copy is the sandbox's root, with /proc, /dev and the binds mounted inside it: it can only be
      // removed once the sandbox's mount namespace is gone, from outside.
      removeAfterExit: record.autoRemove && record.storage !== 'copy' ? dir : undefined,
    };
    // Until the supervisor of issue 13 records it, devbox's own process waits for the sandbox: it is the supervisor.
    const running: ContainerState = {
      status: 'running',
      pid: 0,
      pidStart: '',
      supervisorPid: process.pid,
      supervisorStart: startTimeOf(process.pid) ?? '',
      startedAt: new Date().toISOString(),
      finishedAt: '',
      exitCode: 0,
      restartCount: 0,
    };
    writeState(dir, running);
    appendEvent(store.root, { action: 'start', id: record.id, name: record.name, image: record.imageName });
    let attached: SandboxNetwork | undefined;
    const onForwardError = (error: unknown) => warn(`port auto-forward stopped: ${describeError(error)}`);
    exitCode = await launchSandbox(spec, {
      stdin: options.interactive ? 'inherit' : 'ignore',
      beforeStart:
        slirp &&
        (async (sandbox) => {
          attached = await attachSandboxNetwork(slirp, sandbox, network, dir, (forwards) => writePorts(dir, forwards), onForwardError);
        }),
    });
    await attached?.close();
    if (!record.autoRemove) writeState(dir, { ...running, status: 'exited', exitCode, finishedAt: new Date().toISOString() });
    appendEvent(store.root, { action: 'die', id: record.id, name: record.name, attributes: { exitCode: String(exitCode) } });
    return exitCode;
  } catch (error) {
    // It never ran: a --rm container leaves nothing; a kept one stays created, with the reason.
    if (!record.autoRemove) writeState(dir, { ...CREATED_STATE, error: describeError(error) });
    throw error;
  } finally {
    if (record.autoRemove) await removeContainer(store, created);
  }
}
