/**
 * Unpacking a layer blob into layers/<id map>/<diffID>/, inside the user namespace (unpack-worker.ts).
 * The worker writes into a temp directory beside the final one; only a complete layer whose diffID matches
 * is renamed into place, and its record (<diffID>.json) written last marks it complete.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { LayerRecord } from '../storage/layer-format.js';
import { runNodeInUserNamespace } from '../userns/helper.js';
import { idMappingFingerprint, type IdMapping } from '../userns/idmap.js';
import { removeAsNamespaceRoot } from '../userns/remove.js';
import { DevboxError } from '../util/errors.js';
import { blobPath, digestHex, openBlob } from './blobs.js';

export function layersDir(root: string, mapping: IdMapping): string {
  return join(root, 'layers', idMappingFingerprint(mapping));
}

export function layerDir(root: string, mapping: IdMapping, diffID: string): string {
  return join(layersDir(root, mapping), digestHex(diffID));
}

export function layerRecordPath(dir: string): string {
  return `${dir}.json`;
}

interface WorkerResult extends LayerRecord {
  skippedDevices: string[];
}

/** Unpacks blob `digest`; returns its diffID. With expectedDiffID, a different one is an error. */
export async function unpackLayer(root: string, mapping: IdMapping, digest: string, expectedDiffID?: string): Promise<string> {
  const dir = layersDir(root, mapping);
  await fs.mkdir(dir, { recursive: true });
  const temp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(temp);
  const short = digest.slice(7, 19);
  let result: WorkerResult;
  try {
    if (!existsSync(blobPath(root, digest))) throw new DevboxError(`layer ${short}: blob missing from the store`, { fix: 'load or import the image again' });
    const out = await runNodeInUserNamespace(mapping, new URL('./unpack-worker.js', import.meta.url), [temp, ...(mapping.full ? [] : ['--squash'])], {
      input: openBlob(root, digest),
      allowFailure: true,
    });
    if (out.exitCode !== 0) throw new DevboxError(`layer ${short}: ${out.stderr.trim().split('\n').pop() || `unpacking failed (status ${out.exitCode})`}`);
    result = JSON.parse(out.stdout) as WorkerResult;
    if (expectedDiffID && result.diffID !== expectedDiffID) {
      throw new DevboxError(`layer ${short}: its content is ${result.diffID}, but the image config says ${expectedDiffID}`, { fix: 'the image is corrupt' });
    }
  } catch (error) {
    await removeAsNamespaceRoot(mapping, [temp]);
    throw error;
  }
  const final = join(dir, digestHex(result.diffID));
  const recordPath = layerRecordPath(final);
  if (existsSync(recordPath)) {
    await removeAsNamespaceRoot(mapping, [temp]); // another image brought the same layer meanwhile
    return result.diffID;
  }
  if (existsSync(final)) await removeAsNamespaceRoot(mapping, [final]); // left by a crash before its record
  await fs.rename(temp, final);
  const record: LayerRecord = { diffID: result.diffID, size: result.size, opaqueDirs: result.opaqueDirs, xattrs: result.xattrs };
  await fs.writeFile(`${recordPath}.tmp`, JSON.stringify(record));
  await fs.rename(`${recordPath}.tmp`, recordPath);
  if (result.skippedDevices.length) {
    process.stderr.write(`devbox: layer ${short}: skipped ${result.skippedDevices.length} device node(s) (not allowed in a user namespace), e.g. /${result.skippedDevices[0]}\n`);
  }
  return result.diffID;
}
