/**
 * Unpacking a layer blob into layers/<id map>/<diffID hex>/, inside the user namespace, so that tar
 * ownership lands in the mapped range: this process downloads and checks the blob's digest, and the helper's
 * extractor (native/layer.c, confined to the layer's directory) inflates a gzip blob (a zstd one is decoded
 * here), hashes the tar (the diffID, which this process checks) and writes the files. It writes into a temp
 * directory beside the final one; only a complete layer whose diffID matches is flushed to disk (one
 * syncfs), then renamed into place, and its record (<diffID hex>.json, storage/layer-format.ts) written last
 * marks it complete. Call under the store lock. A build's ADD of a local archive goes through the same
 * extractor (extractArchive).
 */
import { randomHex } from '../util/random.js';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { OPAQUE_XATTR, RESERVED_XATTR_PREFIXES, type LayerRecord, type LayerXattr } from '../storage/layer-format.js';
import { syncFileSystem } from '../runtime/fsops.js';
import { runInUserNamespace } from '../runtime/namespace.js';
import { nestIdMapping, type IdMapping } from '../userns/idmap.js';
import { removeAsNamespaceRoot } from '../storage/remove.js';
import { describeError, DevboxError } from '../util/errors.js';
import type { CaptureResult } from '../util/exec.js';
import { blobExists, digestHex, openBlob, shortDigest } from './blobs.js';
import { syncPath } from '../util/atomic-write.js';
import { writeStoreFile } from './durable.js';
import { isLayerUnpacked, layerRecordPath, layersDir } from './layer-paths.js';
import { describeStreamError, extractorInput } from './layer-stream.js';
import { note } from '../util/warn.js';

/** Prefix of a layer being unpacked (or left half-unpacked by a crash). */
const LAYER_TEMP_PREFIX = '.tmp-';

/** The tar's digest and size, and what the extractor found that a walk of the layer's directory cannot show. */
interface ExtractorResult {
  diffID: string;
  size: number;
  opaqueDirs: string[];
  xattrs: LayerXattr[];
  skippedDevices: string[];
}

/** Bytes that may wait for the extractor. */
const EXTRACTOR_READ_AHEAD = 8 * 1024 * 1024;

type ExtractorRun = { failure: unknown } | { out: CaptureResult };

/**
 * The helper's extractor for this id map: the storage layer format's names, which it must make or drop;
 * `gunzip` when it is given a gzip blob to inflate.
 */
export function extractorCommand(mapping: IdMapping, gunzip = false): string[] {
  return [
    'layer',
    ...(mapping.full ? [] : ['--squash']),
    ...(gunzip ? ['--gunzip'] : []),
    '--opaque-xattr',
    OPAQUE_XATTR,
    ...RESERVED_XATTR_PREFIXES.flatMap((prefix) => ['--reserved-xattr', prefix]),
  ];
}

const fromHex = (hex: string) => Buffer.from(hex, 'hex').toString();

/**
 * The extractor's lines (native/layer.c): "diffid sha256:HEX SIZE", then "opaque PATH", "xattr PATH NAME
 * VALUE", "device PATH", their fields in hex.
 */
export function parseExtractorOutput(stdout: string): ExtractorResult {
  const result: ExtractorResult = { diffID: '', size: 0, opaqueDirs: [], xattrs: [], skippedDevices: [] };
  for (const line of stdout.split('\n')) {
    const [kind, path, name, value] = line.split(' ');
    if (kind === 'diffid') {
      result.diffID = path;
      result.size = Number(name);
    } else if (kind === 'opaque') result.opaqueDirs.push(fromHex(path));
    else if (kind === 'xattr') result.xattrs.push({ path: fromHex(path), name: fromHex(name), value });
    else if (kind === 'device') result.skippedDevices.push(fromHex(path));
  }
  return result;
}

/**
 * Extracts `input` in the helper, inside the user namespace, which inflates a gzip blob and hashes the tar
 * (layer-stream.ts's extractorInput). `failure` is the first error of reading (or, for zstd, decoding) the
 * input (the extractor, whose input then ends early, fails for want of the rest).
 * Whatever stopped reading the input, the rest of it is drained at the end, so that a download feeding it
 * runs to its end and its digest check can say what was wrong. `nested`: this process is already root of
 * the namespace `mapping` makes, and the helper's is made inside it (see extractArchive).
 */
async function extractInHelper(mapping: IdMapping, dest: string, input: Readable, nested = false): Promise<ExtractorRun> {
  const raw = new PassThrough();
  input.on('error', (error) => raw.destroy(error));
  input.pipe(raw);
  const drain = () => {
    input.unpipe(raw);
    input.resume();
  };
  let tar: { stream: Readable; gunzip: boolean };
  try {
    tar = await extractorInput(raw);
  } catch (error) {
    drain();
    return { failure: error };
  }
  let failure: unknown;
  // Room to read ahead while the extractor is busy creating files (Node.js gives it a socketpair, whose buffer is ~200 kB).
  const toExtractor = new PassThrough({ highWaterMark: EXTRACTOR_READ_AHEAD });
  tar.stream.on('error', (error) => {
    failure = error;
    toExtractor.end();
  });
  tar.stream.pipe(toExtractor);
  const command = extractorCommand(mapping, tar.gunzip);
  // Nested: each id of the namespace this process is root of, mapped to itself.
  const namespace = nested ? nestIdMapping(mapping, mapping)! : mapping;
  const out = await runInUserNamespace(namespace, command, { input: toExtractor, allowFailure: true, confine: dest, archive: true });
  drain();
  return failure ? { failure } : { out };
}

/** What the extractor reported, or its failure as one line that starts with `label`. */
function extractorResult(run: ExtractorRun, label: string): ExtractorResult {
  if ('failure' in run) throw new DevboxError(`${label}: ${describeStreamError(run.failure) ?? describeError(run.failure)}`);
  const { out } = run;
  if (out.exitCode !== 0) {
    const line = out.stderr
      .trim()
      .split('\n')
      .pop()
      ?.replace(/^devbox-helper: /, '');
    throw new DevboxError(`${label}: ${line || `unpacking failed (status ${out.exitCode})`}`);
  }
  const result = parseExtractorOutput(out.stdout);
  if (!/^sha256:[a-f0-9]{64}$/.test(result.diffID)) throw new DevboxError(`${label}: the extractor reported no digest of the layer`);
  return result;
}

/**
 * Extracts a tar (a build's ADD of a local archive, decompressed) into `dest`, an empty directory, by the
 * extractor and in the cell image layers get. For a process that is already root of the user namespace
 * `mapping` makes (the build's layer worker): the helper nests its namespace in that one, each id mapped to
 * itself, so that ownership lands as it would in a layer. Its failure is one line that starts with `label`.
 */
export async function extractArchive(mapping: IdMapping, dest: string, tar: Readable, label: string): Promise<ExtractorResult> {
  return extractorResult(await extractInHelper(mapping, dest, tar, true), label);
}

/**
 * Removes what an interrupted unpack left for this id map: temp directories, and layer directories whose
 * record was never written. Call under the store lock.
 */
export async function removeStaleLayers(root: string, mapping: IdMapping): Promise<void> {
  const dir = layersDir(root, mapping);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  const present = new Set(names);
  const stale = names.filter((n) => n.startsWith(LAYER_TEMP_PREFIX) || (/^[a-f0-9]{64}$/.test(n) && !present.has(`${n}.json`)));
  await removeAsNamespaceRoot(
    mapping,
    stale.map((n) => join(dir, n)),
  );
}

/** Per layers directory, the clearing of what interrupted unpacks left, done once per process. */
const staleCleared = new Map<string, Promise<void>>();

/**
 * Clears what interrupted unpacks left in this id map's layers, once per process. Call under the store lock;
 * a pull calls it even when every layer is in place, since a pull killed after its blobs were stored leaves
 * temp directories that no later unpack would come to clear.
 */
export async function clearInterruptedUnpacks(root: string, mapping: IdMapping): Promise<void> {
  const dir = layersDir(root, mapping);
  if (!staleCleared.has(dir)) staleCleared.set(dir, removeStaleLayers(root, mapping));
  await staleCleared.get(dir);
}

export interface LayerSource {
  /** How messages name the layer: "layer sha256:0123456789ab…". */
  label: string;
  /**
   * The diffID the image config promises (or will: a pull unpacks while the config downloads); different
   * content, or its rejection, is an error and nothing is kept.
   */
  expectedDiffID?: string | Promise<string>;
  /**
   * Resolves when the input is known to be the right blob (a download checked against its digest); the
   * layer is put in place only then. Its rejection discards the layer.
   */
  verified?: Promise<unknown>;
}

/**
 * Unpacks blob `digest` and returns its diffID; with `expectedDiffID`, different content is an error and
 * nothing is kept. A layer already unpacked for this id map is not unpacked again.
 */
export async function unpackLayer(root: string, mapping: IdMapping, digest: string, expectedDiffID?: string): Promise<string> {
  if (expectedDiffID && isLayerUnpacked(root, mapping, expectedDiffID)) return expectedDiffID;
  const label = `layer ${shortDigest(digest)}`;
  if (!blobExists(root, digest)) throw new DevboxError(`${label}: blob missing from the store`, { fix: 'load or import the image again' });
  return unpackLayerStream(root, mapping, openBlob(root, digest), { label, expectedDiffID });
}

/**
 * Makes `unpacked`, a directory in the store's layer format on the store's file system (unpacked here, or a
 * build step's overlay upper directory that is exactly its tar's content), the layer `record` names: flushed
 * to disk (one syncfs), renamed into place, its record written last. When the layer is already there,
 * `unpacked` is removed instead. Call under the store lock.
 */
export async function putLayerInPlace(root: string, mapping: IdMapping, unpacked: string, record: LayerRecord): Promise<void> {
  const dir = layersDir(root, mapping);
  const final = join(dir, digestHex(record.diffID));
  if (existsSync(layerRecordPath(final))) {
    await removeAsNamespaceRoot(mapping, [unpacked]); // the same content is already unpacked
    return;
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  if (existsSync(final)) await removeAsNamespaceRoot(mapping, [final]); // left by a crash before its record
  await syncFileSystem(unpacked); // the layer's content is on disk before its name and record say it is complete
  await fs.rename(unpacked, final);
  await syncPath(dir);
  await writeStoreFile(root, layerRecordPath(final), JSON.stringify(record));
}

/**
 * Unpacks a layer blob read from `input` (plain or gzip tar) and returns its diffID. Concurrent calls are
 * safe (each unpacks into its own temp directory); call under the store lock.
 */
export async function unpackLayerStream(root: string, mapping: IdMapping, input: Readable, source: LayerSource): Promise<string> {
  const { label } = source;
  const dir = layersDir(root, mapping);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await clearInterruptedUnpacks(root, mapping);
  const temp = join(dir, `${LAYER_TEMP_PREFIX}${randomHex(6)}`);
  await fs.mkdir(temp);
  let result: ExtractorResult;
  try {
    const run = await extractInHelper(mapping, temp, input);
    await source.verified; // a blob that failed its digest check explains a failed unpack better than the unpacker does
    result = extractorResult(run, label);
    const expectedDiffID = await source.expectedDiffID;
    if (expectedDiffID && result.diffID !== expectedDiffID) {
      throw new DevboxError(`${label}: its content is ${result.diffID}, but the image config says ${expectedDiffID}`, { fix: 'the image is corrupt' });
    }
  } catch (error) {
    // What the extractor wrote belongs to subordinate ids; if even this fails, removeStaleLayers gets it later.
    await removeAsNamespaceRoot(mapping, [temp]).catch(() => {});
    throw error;
  }
  await putLayerInPlace(root, mapping, temp, { diffID: result.diffID, size: result.size, opaqueDirs: result.opaqueDirs, xattrs: result.xattrs });
  if (result.skippedDevices.length) {
    note(`${label}: skipped ${result.skippedDevices.length} device node(s), which a user namespace cannot create (e.g. /${result.skippedDevices[0]})`);
  }
  return result.diffID;
}
