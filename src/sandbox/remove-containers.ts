/**
 * `devbox rm`: a container's directory holds files of subordinate ids, removed inside the user namespace; with
 * `volumes` (rm -v) its anonymous volumes go too, unless another container still uses them.
 */
import { readSettings } from '../settings/settings.js';
import { resolveIdMapping } from '../userns/idmap.js';
import { removeAsNamespaceRoot } from '../userns/remove.js';
import { DevboxError } from '../util/errors.js';
import { removeVolumes } from '../volume/volume-store.js';
import { findContainer, listContainers } from './containers.js';
import { volumeUsers } from './volumes.js';

export async function removeContainers(refs: readonly string[], force: boolean, volumes = false): Promise<string[]> {
  const storeRoot = readSettings().storageRoot;
  const containers = listContainers(storeRoot);
  const targets = refs.map((ref) => findContainer(containers, ref));
  const running = targets.find((c) => c.running);
  if (running && !force) throw new DevboxError(`container ${running.id.slice(0, 12)} is running`, { fix: 'stop it first, or use --force' });
  const { mapping } = resolveIdMapping();
  await removeAsNamespaceRoot(
    mapping,
    targets.map((c) => c.dir),
  );
  if (volumes) {
    const users = volumeUsers(storeRoot);
    const anonymous = targets.flatMap((c) => (c.volumes ?? []).filter((v) => v.anonymous && !users.get(v.name)?.length).map((v) => v.name));
    await removeVolumes(storeRoot, mapping, [...new Set(anonymous)], users);
  }
  return targets.map((c) => c.id.slice(0, 12));
}
