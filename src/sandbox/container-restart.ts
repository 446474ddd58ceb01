/**
 * docker start and restart: the container verbs that start a container's supervisor again, and so need the
 * whole start path (container-start.ts). Kept apart from container-lifecycle.ts, whose verbs only talk to a
 * supervisor or remove files: `devbox stop` and `rm` load a bundle without the start path.
 */
import { attachContainer } from '../container/attach.js';
import { findContainer, isRunning } from '../container/lookup.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../container/options.js';
import { ImageStore } from '../image/store.js';
import { readSettings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';
import { stopContainers } from './container-lifecycle.js';
import { startAndSettle, type StartOutcome } from './container-start.js';

export interface StartOptions {
  attach: boolean;
  interactive: boolean;
  detachKeys?: string;
}

/** docker start: detached, or with -a in the foreground (its status then). A running container is left as it is, or attached to with -a. */
export async function startContainers(refs: readonly string[], options: StartOptions): Promise<StartOutcome | undefined> {
  const settings = readSettings();
  const store = ImageStore.open(settings.storageRoot);
  const detachKeys = parseDetachKeys(options.detachKeys ?? DEFAULT_DETACH_KEYS);
  if (options.attach && refs.length > 1) throw new DevboxError('you cannot start and attach multiple containers at once', { kind: 'usage' });
  let outcome: StartOutcome | undefined;
  for (const ref of refs) {
    const container = findContainer(store.root, ref);
    if (isRunning(container)) {
      // docker start -a of a running container attaches to it.
      if (options.attach) outcome = { exited: await attachContainer(container, { stdin: options.interactive, sigProxy: true, detachKeys }) };
      continue;
    }
    outcome = await startAndSettle(store, container.config, container.dir, {
      detach: !options.attach,
      stdin: options.interactive ? 'inherit' : 'ignore',
      detachKeys,
      autoForward: settings.autoForward,
    });
  }
  return outcome;
}

export async function restartContainers(refs: readonly string[], timeoutSec?: number): Promise<void> {
  await stopContainers(refs, timeoutSec);
  await startContainers(refs, { attach: false, interactive: false });
}
