/**
 * Finding containers and telling whether they run. Cheap by design, since `devbox ps` and every verb start
 * here: two small JSON reads per container and a read of /proc/PID/stat for the running ones; no process
 * per container besides its supervisor.
 */
import { existsSync, readdirSync } from 'node:fs';
import { DevboxError } from '../util/errors.js';
import { startTimeOf } from '../util/processes.js';
import { compareCodeUnits } from '../util/format.js';
import { idForName } from './names.js';
import { type ContainerRecord, type ContainerState, containerDir, containersRoot, readRecord, readState } from './records.js';

export interface Container {
  id: string;
  dir: string;
  config: ContainerRecord;
  /** As it is now: a recorded "running" whose supervisor is gone reads as exited (currentState). */
  state: ContainerState;
}

/** Status of a container killed with its supervisor (kill -9): pid 1 got SIGKILL from the kernel with it. */
export const SUPERVISOR_KILLED_STATUS = 137;

/**
 * The recorded state corrected by what /proc says: a container recorded as running whose supervisor is
 * gone (killed before it could record the end) has exited, killed with it. Start times make a recycled pid
 * never count as the supervisor.
 */
export function currentState(recorded: ContainerState): ContainerState {
  if (recorded.status !== 'running' && recorded.status !== 'restarting') return recorded;
  if (recorded.supervisorPid > 0 && startTimeOf(recorded.supervisorPid) === recorded.supervisorStart) return recorded;
  return {
    ...recorded,
    status: 'exited',
    pid: 0,
    exitCode: SUPERVISOR_KILLED_STATUS,
    error: recorded.error ?? 'its supervisor ended without recording how the container ended',
  };
}

export function isRunning(container: Pick<Container, 'state'>): boolean {
  return container.state.status === 'running' || container.state.status === 'restarting';
}

/** The container with this full id, or undefined (also while it is being created: no config yet). */
export function loadContainer(storeRoot: string, id: string): Container | undefined {
  const dir = containerDir(storeRoot, id);
  const config = readRecord(dir);
  if (!config) return undefined;
  return { id, dir, config, state: currentState(readState(dir)) };
}

/** Every container in the store, newest first. */
export function listContainers(storeRoot: string): Container[] {
  const root = containersRoot(storeRoot);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .flatMap((id) => loadContainer(storeRoot, id) ?? [])
    .sort((a, b) => compareCodeUnits(b.config.created, a.config.created));
}

export function noSuchContainer(ref: string): DevboxError {
  return new DevboxError(`no such container: ${ref}`, { fix: 'see "devbox ps -a"' });
}

/**
 * Whether `ref` is a container's whole id or its name (an id prefix is not): what verbs that take containers
 * and project sandboxes alike (stop, rm) look at first, so that a container is never mistaken for a sandbox
 * whose id happens to start with its name.
 */
export function namesContainer(storeRoot: string, ref: string): boolean {
  return exactContainer(storeRoot, ref) !== undefined;
}

/** The container whose whole id or name `ref` is (a leading / allowed, as docker prints names). */
function exactContainer(storeRoot: string, ref: string): Container | undefined {
  const bare = ref.startsWith('/') ? ref.slice(1) : ref;
  const byId = /^[0-9a-f]{64}$/.test(bare) ? loadContainer(storeRoot, bare) : undefined;
  if (byId) return byId;
  const named = bare && idForName(storeRoot, bare);
  return (named && loadContainer(storeRoot, named)) || undefined;
}

/** Docker's order: a full id, then a name, then a unique id prefix. */
export function findContainer(storeRoot: string, ref: string): Container {
  const exact = exactContainer(storeRoot, ref);
  if (exact) return exact;
  const bare = ref.startsWith('/') ? ref.slice(1) : ref;
  if (/^[0-9a-f]+$/.test(bare)) {
    const root = containersRoot(storeRoot);
    const ids = existsSync(root) ? readdirSync(root).filter((id) => id.startsWith(bare)) : [];
    const found = ids.flatMap((id) => loadContainer(storeRoot, id) ?? []);
    if (found.length === 1) return found[0];
    if (found.length > 1)
      throw new DevboxError(`container id prefix "${ref}" is ambiguous: ${found.length} containers have it`, { fix: 'give more of the id' });
  }
  throw noSuchContainer(ref);
}
