/**
 * What is left to do once a container's directory is gone: its name freed, the `destroy` event, and, for
 * `--rm` and `rm -v`, the anonymous volumes it made (volumes.ts keeps those another container still uses).
 * `devbox rm` does it; for a --rm container, the supervisor that removed the directory runs it as its exit
 * command (auto-remove-worker.ts) or, when the devbox that started it still waits in the foreground, hands it
 * to that process (no Node.js start for it); devbox does it all when no supervisor got that far.
 */
import { existsSync } from 'node:fs';
import { appendEvent } from '../container/events.js';
import { releaseName } from '../container/names.js';
import type { ContainerRecord } from '../container/records.js';
import { removeContainerCgroup } from '../runtime/cgroups.js';
import { removeDirectlyFirst } from '../storage/remove.js';
import { removeAnonymousVolumes } from './volumes.js';

export type RemovedContainer = Pick<ContainerRecord, 'id' | 'name' | 'volumes' | 'idMapping' | 'resources'>;

/** A --rm container's exit command's work, with what the record said (gone by then). */
export interface AutoRemoval {
  storeRoot: string;
  container: RemovedContainer;
}

/** Finishes an auto-removal once the directory is gone; what went wrong, as one line, or undefined. */
export async function finishAutoRemoval(removal: AutoRemoval): Promise<string | undefined> {
  try {
    await forgetRemovedContainer(removal.storeRoot, removal.container, true);
    return undefined;
  } catch (error) {
    return `after removing container ${removal.container.name}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** The `destroy` event comes last, whatever happened before it: who waits for it finds the removal done. */
export async function forgetRemovedContainer(storeRoot: string, record: RemovedContainer, volumes: boolean): Promise<void> {
  try {
    releaseName(storeRoot, record.name, record.id);
    if (volumes) await removeAnonymousVolumes(storeRoot, record);
    if (record.resources) removeContainerCgroup(record.id);
  } finally {
    appendEvent(storeRoot, { action: 'destroy', id: record.id, name: record.name });
  }
}

/**
 * A --rm container that has ended or failed to start. Once its directory is gone, its supervisor removed it and
 * ran the rest as its exit command before it exited; otherwise no supervisor got that far and this does it all.
 */
export async function removeLeftovers(storeRoot: string, record: ContainerRecord, dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  // Its writable layer holds files of subordinate ids once anything ran in it.
  await removeDirectlyFirst(record.idMapping, [dir]);
  await forgetRemovedContainer(storeRoot, record, true);
}
