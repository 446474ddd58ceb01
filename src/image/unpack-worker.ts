/**
 * Runs as root of the user namespace, confined to the layer's temp directory (the helper's --confine):
 * `node unpack-worker.js [--squash]` with a layer's tar on stdin, already decompressed by the parent, which
 * also computes the diffID (unpack.ts): this process's one thread only extracts. It starts on the host's file
 * system to load its modules, then asks to be confined; from then on "/" is the layer, so an extractor bug
 * cannot write anywhere else. Prints what the layer record needs as JSON on stdout. Any failure is one line
 * on stderr and exit status 1; the parent removes the directory then.
 */
import { confinedFsOps, enterConfinement } from '../runtime/confinement.js';
import { describeError } from '../util/errors.js';
import { extractLayer } from './extract.js';
import { describeStreamError } from './layer-stream.js';

const flags = process.argv.slice(2);
try {
  enterConfinement();
  const result = await extractLayer(process.stdin, { root: '/', squashOwnership: flags.includes('--squash'), applyFsOps: confinedFsOps });
  process.stdout.write(JSON.stringify(result));
} catch (error) {
  process.stderr.write(`${describeStreamError(error) ?? describeError(error)}\n`);
  process.exitCode = 1;
}
