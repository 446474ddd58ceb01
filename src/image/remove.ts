/**
 * `devbox rmi` / `devbox image rm`: a name untags; an id, or an image's last name, removes the image; then
 * blobs and unpacked layers nothing references any more are collected. All or nothing: an unknown image or
 * a refusal anywhere in the list changes nothing. An image a container or sandbox runs from (`running`, ids
 * the caller read from them) is refused, or with force removed but retained until it has ended (gc.ts).
 */
import { resolveIdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import { collectGarbage } from './gc.js';
import { familiarName } from './reference.js';
import { ImageStore, unknownImage } from './store.js';

/** Returns one line per change, as docker prints them: "Untagged: NAME", "Deleted: ID". */
export async function removeImages(store: ImageStore, refs: readonly string[], force: boolean, running: ReadonlySet<string>): Promise<string[]> {
  const { mapping } = resolveIdMapping();
  return store.withLock(async () => {
    const index = store.readIndex();
    const report: string[] = [];
    for (const ref of refs) {
      const found = store.find(ref, index);
      const record = found && index.images[found.id];
      if (!found || !record) throw unknownImage(ref);
      if (found.name && record.names.length > 1) {
        record.names = record.names.filter((n) => n !== found.name);
        report.push(`Untagged: ${familiarName(found.name)}`);
        continue;
      }
      const short = ImageStore.shortId(found.id);
      if (!found.name && record.names.length > 1 && !force) {
        throw new DevboxError(`image ${short} has several names (${record.names.map(familiarName).join(', ')})`, {
          fix: 'remove them by name, or use --force to remove the image',
        });
      }
      if (running.has(found.id)) {
        if (!force) throw new DevboxError(`image "${ref}" (${short}) is in use by a running container`, { fix: 'stop the container first, or use --force' });
        index.retained = [...(index.retained ?? []), found.id];
      }
      for (const name of record.names) report.push(`Untagged: ${familiarName(name)}`);
      delete index.images[found.id];
      report.push(`Deleted: ${found.id}`);
    }
    await store.writeIndex(index);
    await collectGarbage(store, mapping, running);
    return report;
  });
}
