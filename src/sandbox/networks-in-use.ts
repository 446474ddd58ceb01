/**
 * Which containers and project sandboxes use each user-defined network, for `network rm`, `prune` and
 * `inspect` (network/ sits below the container records and takes these from its caller, as the image store
 * does its images in use). A container uses the networks its record names, running or not; a project
 * sandbox those it joined, while any of its processes runs (its config, not a record, says the rest).
 */
import { isRunning, listContainers } from '../container/lookup.js';
import { listSandboxes } from './live-state.js';

export interface NetworkUser {
  /** A container's id; a project sandbox's directory key. */
  id: string;
  name: string;
  /** Its directory: where its networks.json says its address on each network. */
  dir: string;
  running: boolean;
  aliases: string[];
}

/** Network name → its users: containers newest first, then project sandboxes by name. */
export function networkUsers(storeRoot: string): Map<string, NetworkUser[]> {
  const users = new Map<string, NetworkUser[]>();
  const add = (network: string, user: NetworkUser) => users.set(network, [...(users.get(network) ?? []), user]);
  for (const container of listContainers(storeRoot)) {
    const running = isRunning(container);
    for (const attachment of container.config.network.networks ?? [])
      add(attachment.name, { id: container.id, name: container.config.name, dir: container.dir, running, aliases: attachment.aliases });
  }
  for (const { dir, state, running } of listSandboxes(storeRoot)) {
    if (!running) continue;
    for (const network of state.networks ?? []) add(network, { id: dir.slice(dir.lastIndexOf('/') + 1), name: state.name, dir, running, aliases: [] });
  }
  return users;
}
