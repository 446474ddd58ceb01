/**
 * The container verbs that stop, signal, wait for, rename or remove a container — each a short process that
 * reads the records and talks to the container's supervisor (container/control.ts). start and restart, which
 * need the start path, are container-restart.ts.
 */
import { existsSync } from 'node:fs';
import { stopContainer, requestSignal, waitForExit } from '../container/control.js';
import { appendEvent } from '../container/events.js';
import { findContainer, isRunning, type Container } from '../container/lookup.js';
import { releaseName, reserveName, validateName } from '../container/names.js';
import { writeRecord } from '../container/records.js';
import { readSettings } from '../settings/settings.js';
import { CGROUP_FIX, probeCgroups } from '../runtime/cgroups.js';
import { removeDirectlyFirst } from '../storage/remove.js';
import { DevboxError } from '../util/errors.js';
import { signalNumber } from '../util/signals.js';
import { forgetRemovedContainer } from './container-removal.js';

function storeRoot(): string {
  return readSettings().storageRoot;
}

function notRunning(ref: string): DevboxError {
  return new DevboxError(`container ${ref} is not running`, { fix: `see "devbox ps -a"; start it with devbox start ${ref}` });
}

export async function stopContainers(refs: readonly string[], timeoutSec?: number, signal?: string): Promise<void> {
  if (signal !== undefined) signalNumber(signal); // a bad signal is refused before anything is stopped
  const targets = refs.map((ref) => findContainer(storeRoot(), ref));
  for (const c of targets) {
    await stopContainer(c, timeoutSec ?? c.config.stopTimeout, signal);
    appendEvent(storeRoot(), { action: 'stop', id: c.id, name: c.config.name });
  }
}

/**
 * docker pause/unpause need the cgroup freezer: on cgroup v1/hybrid nothing is delegated to a user, and on a
 * delegated cgroup v2 devbox makes a container a cgroup only for its limits, not for every container.
 * Refused in one line, as rootless podman does on cgroup v1; stopping the processes with SIGSTOP instead would
 * be seen by them (their parent gets SIGCHLD, a shell reports "Stopped") and a SIGCONT from inside undoes it.
 */
export function pauseContainers(refs: readonly string[], verb: 'pause' | 'unpause'): never {
  for (const ref of refs) if (!isRunning(findContainer(storeRoot(), ref))) throw notRunning(ref);
  const cgroups = probeCgroups();
  if (cgroups.delegated)
    throw new DevboxError(
      `cannot ${verb} ${refs.join(', ')}: ${verb} needs the cgroup freezer, and devbox does not yet give containers a cgroup (${cgroups.detail})`,
    );
  throw new DevboxError(`cannot ${verb} ${refs.join(', ')}: ${verb} needs the cgroup freezer, and ${cgroups.detail}`, { fix: CGROUP_FIX });
}

/** docker kill: the signal (SIGKILL by default) to each; one that is not running is an error. */
export async function killContainers(refs: readonly string[], signal = 'KILL'): Promise<void> {
  signalNumber(signal);
  const targets = refs.map((ref) => findContainer(storeRoot(), ref));
  for (const [i, c] of targets.entries()) {
    if (!isRunning(c) || (await requestSignal(c, signal, false).catch(() => -1)) !== 0) throw notRunning(refs[i]);
    appendEvent(storeRoot(), { action: 'kill', id: c.id, name: c.config.name, attributes: { signal } });
  }
}

/** docker rm: stopped containers; -f kills running ones first; -v (`volumes`) removes their anonymous volumes too. */
export async function removeContainers(refs: readonly string[], force: boolean, volumes = false): Promise<void> {
  const root = storeRoot();
  const targets = refs.map((ref) => findContainer(root, ref));
  const running = targets.find(isRunning);
  if (running && !force) {
    throw new DevboxError(`cannot remove container ${running.config.name}: it is running`, { fix: 'stop it first, or use devbox rm -f' });
  }
  for (const container of targets) if (isRunning(container)) await stopContainer(container, 0, 'KILL');
  // One helper start, if any, for the containers of one id map: with the default map, one per rm.
  const byMapping = new Map<string, Container[]>();
  for (const c of targets) {
    const key = JSON.stringify(c.config.idMapping);
    byMapping.set(key, [...(byMapping.get(key) ?? []), c]);
  }
  let failure: unknown;
  for (const group of byMapping.values()) {
    await removeDirectlyFirst(
      group[0].config.idMapping,
      group.map((c) => c.dir),
    ).catch((error: unknown) => {
      failure ??= error;
    });
  }
  // A container whose directory went is forgotten even when another's failed: its name is free again.
  for (const container of targets) if (!existsSync(container.dir)) await forgetRemovedContainer(root, container.config, volumes);
  if (failure) throw failure;
}

export function renameContainer(ref: string, newName: string): void {
  const root = storeRoot();
  const container = findContainer(root, ref);
  const name = validateName(newName);
  if (name === container.config.name) throw new DevboxError(`renaming container ${ref}: the new name is the same as the old one`, { kind: 'usage' });
  reserveName(root, name, container.id);
  const old = container.config.name;
  writeRecord(container.dir, { ...container.config, name });
  releaseName(root, old, container.id);
  appendEvent(root, { action: 'rename', id: container.id, name, attributes: { oldName: old } });
}

/** docker wait: each container's exit code once it has stopped. */
export async function waitContainers(refs: readonly string[]): Promise<number[]> {
  const targets: Container[] = refs.map((ref) => findContainer(storeRoot(), ref));
  const codes: number[] = [];
  for (const c of targets) {
    const state = (await waitForExit(c)) ?? c.state;
    codes.push(state.exitCode);
  }
  return codes;
}
