/**
 * `devbox run IMAGE [CMD…]`: create the container (container-create.ts) and start it (container-start.ts),
 * in the foreground, or with -d detached, printing its id. This is the hot path of devbox: it loads no oclif
 * or tar code unless a layer must be unpacked.
 */
import { existsSync } from 'node:fs';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../container/options.js';
import { CREATED_STATE, writeState } from '../container/records.js';
import { ImageStore } from '../image/store.js';
import { readSettings } from '../settings/settings.js';
import { describeError } from '../util/errors.js';
import { writeStdout } from '../util/stdio.js';
import { createContainer, type CreateOptions } from './container-create.js';
import { startAndSettle } from './container-start.js';

/** `devbox run`'s options, as src/cli/run-options.ts parses them. */
export interface RunOptions extends CreateOptions {
  detach: boolean;
  detachKeys?: string;
}

/** The exit status (as docker run's), 0 for a detached start (the id is printed). */
export async function runImage(options: RunOptions): Promise<number> {
  const detachKeys = parseDetachKeys(options.detachKeys ?? DEFAULT_DETACH_KEYS);
  const settings = readSettings();
  const store = ImageStore.open(settings.storageRoot);
  const { record, dir } = await createContainer(store, settings, options);
  let outcome: Awaited<ReturnType<typeof startAndSettle>>;
  try {
    outcome = await startAndSettle(store, record, dir, {
      detach: options.detach,
      stdin: options.interactive || options.tty ? 'inherit' : 'ignore',
      detachKeys,
      autoForward: settings.autoForward,
    });
  } catch (error) {
    // It never ran: a kept container stays created, with the reason (a --rm one left nothing).
    if (existsSync(dir)) writeState(dir, { ...CREATED_STATE, error: describeError(error) });
    throw error;
  }
  if ('started' in outcome) {
    writeStdout(`${record.id}\n`);
    return 0;
  }
  if ('detached' in outcome) return 0;
  return outcome.exited;
}
