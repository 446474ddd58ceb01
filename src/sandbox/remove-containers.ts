/** `devbox rm`: a container's directory holds files of subordinate ids, removed inside the user namespace. */
import { readSettings } from '../settings/settings.js';
import { resolveIdMapping } from '../userns/idmap.js';
import { removeAsNamespaceRoot } from '../storage/remove.js';
import { DevboxError } from '../util/errors.js';
import { findContainer, listContainers } from './containers.js';

export async function removeContainers(refs: readonly string[], force: boolean): Promise<string[]> {
  const containers = listContainers(readSettings().storageRoot);
  const targets = refs.map((ref) => findContainer(containers, ref));
  const running = targets.find((c) => c.running);
  if (running && !force) throw new DevboxError(`container ${running.id.slice(0, 12)} is running`, { fix: 'stop it first, or use --force' });
  await removeAsNamespaceRoot(
    resolveIdMapping().mapping,
    targets.map((c) => c.dir),
  );
  return targets.map((c) => c.id.slice(0, 12));
}
