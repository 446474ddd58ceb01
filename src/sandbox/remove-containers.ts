/** `devbox rm`: a container's directory holds files of subordinate ids, removed inside the user namespace. */
import { appendEvent } from '../container/events.js';
import { findContainer, isRunning } from '../container/lookup.js';
import { releaseName } from '../container/names.js';
import { readSettings } from '../settings/settings.js';
import { removeAsNamespaceRoot } from '../userns/remove.js';
import { DevboxError } from '../util/errors.js';

export async function removeContainers(refs: readonly string[], force: boolean): Promise<string[]> {
  const root = readSettings().storageRoot;
  const targets = refs.map((ref) => findContainer(root, ref));
  const running = targets.find(isRunning);
  if (running && !force) throw new DevboxError(`container ${running.config.name} is running`, { fix: 'stop it first, or use --force' });
  for (const container of targets) {
    await removeAsNamespaceRoot(container.config.idMapping, [container.dir]);
    releaseName(root, container.config.name, container.id);
    appendEvent(root, { action: 'destroy', id: container.id, name: container.config.name });
  }
  return [...refs]; // each as given, as docker rm prints them
}
