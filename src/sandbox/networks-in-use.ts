/**
 * Which containers use each user-defined network, for `network rm`, `prune` and `inspect` (network/ sits
 * below the container records and takes these from its caller, as the image store does its images in use).
 */
import { type Container, isRunning, listContainers } from '../container/lookup.js';

export interface NetworkUser {
  container: Container;
  running: boolean;
  aliases: string[];
}

/** Network name → the containers whose records name it, newest first. */
export function networkUsers(storeRoot: string): Map<string, NetworkUser[]> {
  const users = new Map<string, NetworkUser[]>();
  for (const container of listContainers(storeRoot)) {
    for (const attachment of container.config.network.networks ?? []) {
      const list = users.get(attachment.name) ?? [];
      list.push({ container, running: isRunning(container), aliases: attachment.aliases });
      users.set(attachment.name, list);
    }
  }
  return users;
}
