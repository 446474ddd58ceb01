/**
 * Writing files into a user's project (devbox init, editor settings) so that a failure leaves each file
 * whole: every file goes to a temp file beside it first, and only when all are written are they renamed
 * into place.
 */
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { commitTemp, tempBeside } from '../util/atomic-write.js';
import { DevboxError, describeError } from '../util/errors.js';

export async function writeFilesAtomically(files: readonly (readonly [string, string | Buffer])[]): Promise<void> {
  const temps: [string, string][] = [];
  try {
    for (const [path, content] of files) {
      await fs.mkdir(dirname(path), { recursive: true });
      const temp = tempBeside(path);
      temps.push([temp, path]);
      // Keep an existing file's mode (a settings file the user made private stays private).
      const mode = await fs.stat(path).then(
        (s) => s.mode & 0o777,
        () => 0o644,
      );
      await fs.writeFile(temp, content, { mode, flag: 'wx' });
    }
    for (const [temp, path] of temps) await commitTemp(temp, path, { durable: true });
  } catch (error) {
    await Promise.all(temps.map(([temp]) => fs.rm(temp, { force: true })));
    throw new DevboxError(`could not write ${files.map(([path]) => path).join(', ')}: ${describeError(error)}`, { cause: error });
  }
}
