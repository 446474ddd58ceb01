/**
 * `devbox run IMAGE [CMD…]`: create the container (container-create.ts) and start it (container-start.ts),
 * in the foreground, or with -d detached, printing its id. This is the hot path of devbox: it loads no oclif
 * or tar code unless a layer must be unpacked.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { appendEvent } from '../container/events.js';
import { releaseName } from '../container/names.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../container/options.js';
import { CREATED_STATE, writeState, type ContainerRecord } from '../container/records.js';
import { ImageStore } from '../image/store.js';
import { readSettings } from '../settings/settings.js';
import { removeAsNamespaceRoot } from '../storage/remove.js';
import { describeError } from '../util/errors.js';
import { createContainer, type CreateOptions } from './container-create.js';
import { startContainer } from './container-start.js';

/** `devbox run`'s options, as src/cli/run-options.ts parses them. */
export interface RunOptions extends CreateOptions {
  detach: boolean;
  detachKeys?: string;
}

/** What is left of a --rm container once its supervisor is gone: its directory if it never started, and its name. */
export async function removeLeftovers(store: ImageStore, record: ContainerRecord, dir: string): Promise<void> {
  if (existsSync(dir)) {
    // Its writable layer holds files of subordinate ids once anything ran in it.
    if (record.storage === 'copy' || existsSync(join(dir, 'upper'))) await removeAsNamespaceRoot(record.idMapping, [dir]);
    else rmSync(dir, { recursive: true, force: true });
  }
  releaseName(store.root, record.name, record.id);
  appendEvent(store.root, { action: 'destroy', id: record.id, name: record.name });
}

/** The exit status (as docker run's), 0 for a detached start (the id is printed). */
export async function runImage(options: RunOptions): Promise<number> {
  const detachKeys = parseDetachKeys(options.detachKeys ?? DEFAULT_DETACH_KEYS);
  const settings = readSettings();
  const store = ImageStore.open(settings.storageRoot);
  const { record, dir } = await createContainer(store, settings, options);
  let outcome: Awaited<ReturnType<typeof startContainer>>;
  try {
    outcome = await startContainer(store, record, dir, {
      detach: options.detach,
      stdin: options.interactive || options.tty ? 'inherit' : 'ignore',
      detachKeys,
      autoForward: settings.autoForward,
    });
  } catch (error) {
    // It never ran: a --rm container leaves nothing; a kept one stays created, with the reason.
    if (record.autoRemove) await removeLeftovers(store, record, dir);
    else if (existsSync(dir)) writeState(dir, { ...CREATED_STATE, error: describeError(error) });
    throw error;
  }
  if ('started' in outcome) {
    process.stdout.write(`${record.id}\n`);
    return 0;
  }
  if ('detached' in outcome) return 0;
  if (record.autoRemove) await removeLeftovers(store, record, dir);
  return outcome.exited;
}
