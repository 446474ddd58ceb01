/** Finding the programs devbox runs beside the sandbox (fuse-overlayfs, slirp4netns, newuidmap). */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** First executable `name` on PATH (and the usual sbin dirs, which a user's PATH may lack). */
export function findProgram(name: string, path = process.env.PATH ?? ''): string | undefined {
  const dirs = [...path.split(delimiter).filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}
