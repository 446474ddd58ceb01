/**
 * A stand-in for a buggy unpack worker, run by the confinement tests through the helper's --confine:
 * `node confined-writer.js HOSTDIR`. It asks to be confined, then tries to write where an extractor bug would:
 * an absolute host path, a path climbing with "..", the root; and has the helper make a whiteout. Prints its
 * capabilities and what each write did, as JSON. With `--forget-to-confine` it only exits 0, unconfined.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { confinedFsOps, enterConfinement } from '../../src/runtime/confinement.js';

const [hostDir, flag] = process.argv.slice(2);
if (flag === '--forget-to-confine') process.exit(0);
const capabilities = /^CapEff:\s*(\w+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
enterConfinement();
const writes: Record<string, string> = {};
for (const [name, path] of [
  ['absolute', `${hostDir}/escaped-absolute`],
  ['dotdot', '../../../../../../escaped-dotdot'],
  ['root', '/escaped-root'],
]) {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, name);
    writes[name] = 'written';
  } catch (error) {
    writes[name] = (error as NodeJS.ErrnoException).code ?? String(error);
  }
}
await confinedFsOps([{ op: 'whiteout', path: '/whiteout' }]);
console.log(JSON.stringify({ capabilities, writes, root: readdirSync('/').sort() }));
