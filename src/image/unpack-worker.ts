/**
 * Runs as root of the user namespace: `node unpack-worker.js DEST [--squash]` with a layer blob on stdin.
 * Extracts it into DEST and prints, as JSON on stdout, the diffID, size and what the layer record needs.
 * Any failure is one line on stderr and exit status 1.
 */
import { applyFsOps } from '../userns/helper.js';
import { describeError } from '../util/errors.js';
import { extractLayer } from './extract.js';
import { decompressed, digesting } from './layer-stream.js';

const [dest, ...flags] = process.argv.slice(2);
try {
  const tarStream = digesting(await decompressed(process.stdin));
  const result = await extractLayer(tarStream.stream, { root: dest, squashOwnership: flags.includes('--squash'), applyFsOps });
  const { digest, size } = tarStream.result();
  process.stdout.write(JSON.stringify({ diffID: digest, size, ...result }));
} catch (error) {
  process.stderr.write(`${describeError(error)}\n`);
  process.exitCode = 1;
}
