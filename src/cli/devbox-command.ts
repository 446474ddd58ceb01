/**
 * How other programs (editors, shell hooks) should start devbox: plain `devbox` when the PATH finds it,
 * so files written into a repo hold no path of this machine; else the absolute path of this entry point.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export function devboxCommand(env: NodeJS.ProcessEnv = process.env): string {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, 'devbox'), constants.X_OK);
      return 'devbox';
    } catch {
      // not in this folder
    }
  }
  return resolve(process.argv[1]);
}
