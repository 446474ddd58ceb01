/**
 * The suite store's user namespace owner (src/network/owner.ts), read as devbox records it, and id maps read
 * inside a container made in its namespace, said again in host ids.
 */
import { join } from 'node:path';
import { ownerStatePath, readLiveState } from '../../src/network/owner.js';
import type { IdMapEntry, IdMapping } from '../../src/userns/idmap.js';

export interface StoreOwner {
  pid: number;
  start: string;
  idMapping: IdMapping;
}

export const ownerStateFile = (): string => ownerStatePath(join(process.env.XDG_DATA_HOME!, 'devbox'));

/** The owner, while the process its state file names runs. */
export function liveStoreOwner(): StoreOwner | undefined {
  return readLiveState<StoreOwner>(ownerStateFile());
}

/**
 * A uid_map read inside a container ("inside:outside:count" entries, outside in the ids of the namespace it
 * was made in) in host ids, through `outer`, the map of that namespace; entries that cross a range of
 * `outer` are split.
 */
export function inHostIds(entries: readonly string[], outer: readonly IdMapEntry[]): string[] {
  const result: string[] = [];
  for (const entry of entries) {
    let [inside, outside, count] = entry.split(':').map(Number);
    while (count > 0) {
      const range = outer.find((r) => outside >= r.inside && outside < r.inside + r.count);
      if (!range) throw new Error(`${entry}: id ${outside} is not in the outer map`);
      const n = Math.min(count, range.inside + range.count - outside);
      result.push(`${inside}:${range.outside + outside - range.inside}:${n}`);
      inside += n;
      outside += n;
      count -= n;
    }
  }
  return result;
}
