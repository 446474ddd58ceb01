/** `devbox rmi`: untag a name, or remove an image, then collect what nothing references any more. */
import { resolveIdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import { collectGarbage } from './gc.js';
import { familiarName, normalizedName, parseReference } from './reference.js';
import type { ImageStore } from './store.js';

/** Returns one line per ref, as docker prints them: "Untagged: NAME" or "Deleted: ID". */
export async function removeImages(store: ImageStore, refs: readonly string[], force: boolean): Promise<string[]> {
  const { mapping } = resolveIdMapping();
  return store.withLock(async () => {
    const index = store.readIndex();
    const inUse = store.imagesInUse();
    const report: string[] = [];
    for (const ref of refs) {
      const id = store.findId(ref, index);
      if (!id) throw new DevboxError(`unknown image "${ref}"`, { fix: 'see "devbox images"' });
      const record = index.images[id];
      let byName: string | undefined;
      try {
        const name = normalizedName(parseReference(ref));
        byName = record.names.includes(name) ? name : undefined;
      } catch {
        // an id, not a name
      }
      if (byName && record.names.length > 1) {
        record.names = record.names.filter((n) => n !== byName);
        report.push(`Untagged: ${familiarName(byName)}`);
        continue;
      }
      if (inUse.has(id) && !force) {
        throw new DevboxError(`image "${ref}" is in use by a running container`, { fix: 'stop it first, or use --force' });
      }
      for (const name of record.names) report.push(`Untagged: ${familiarName(name)}`);
      delete index.images[id];
      report.push(`Deleted: ${id}`);
    }
    await store.writeIndex(index);
    await collectGarbage(store, mapping);
    return report;
  });
}
