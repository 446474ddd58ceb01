/**
 * Runs as root of the user namespace: `node unpack-worker.js DEST [--squash]` with a layer blob on stdin.
 * Decompresses it, hashes the tar stream (the diffID, which the parent checks) and extracts it into DEST;
 * prints the diffID, size and what the layer record needs as JSON on stdout. Any failure is one line on
 * stderr and exit status 1; the parent removes DEST then.
 */
import { applyFsOps } from '../userns/helper.js';
import { describeError } from '../util/errors.js';
import { extractLayer } from './extract.js';
import { decompressed, describeStreamError, digesting } from './layer-stream.js';

const [dest, ...flags] = process.argv.slice(2);
try {
  const layer = digesting(await decompressed(process.stdin));
  const result = await extractLayer(layer.stream, { root: dest, squashOwnership: flags.includes('--squash'), applyFsOps, durable: true });
  const { digest, size } = layer.result();
  process.stdout.write(JSON.stringify({ diffID: digest, size, ...result }));
} catch (error) {
  process.stderr.write(`${describeStreamError(error) ?? describeError(error)}\n`);
  process.exitCode = 1;
}
