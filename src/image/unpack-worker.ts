/**
 * Runs as root of the user namespace: `node unpack-worker.js DEST [--squash]` with a layer's tar on stdin,
 * already decompressed by the parent, which also computes the diffID (unpack.ts): this process's one thread
 * only extracts. Prints what the layer record needs as JSON on stdout. Any failure is one line on stderr and
 * exit status 1; the parent removes DEST then.
 */
import { applyFsOps } from '../runtime/fsops.js';
import { describeError } from '../util/errors.js';
import { extractLayer } from './extract.js';
import { describeStreamError } from './layer-stream.js';

const [dest, ...flags] = process.argv.slice(2);
try {
  const result = await extractLayer(process.stdin, { root: dest, squashOwnership: flags.includes('--squash'), applyFsOps });
  process.stdout.write(JSON.stringify(result));
} catch (error) {
  process.stderr.write(`${describeStreamError(error) ?? describeError(error)}\n`);
  process.exitCode = 1;
}
