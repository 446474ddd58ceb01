/**
 * The native helper's command line as a protocol (native/README.md): where the program is, what its exit
 * statuses mean, how a user namespace is described in its argv. Only src/runtime/ builds helper argv or reads
 * its statuses; everything else asks runtime to run a sandbox, join one, run a program as root of a user
 * namespace, or do a file-system operation Node.js lacks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatIdMap, type IdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';

/** The helper's own exit statuses (the command's status otherwise), as `docker run` and crun use them. */
export const HELPER_STATUS = {
  /** The sandbox could not be set up (or joined): one line on stderr says why. */
  setupFailed: 125,
  /** The command exists but cannot be executed. */
  cannotExecute: 126,
  /** The command does not exist. */
  notFound: 127,
} as const;

let cachedPath: string | undefined;

/** Absolute path of the built helper binary. */
export function helperPath(): string {
  if (cachedPath) return cachedPath;
  const path = fileURLToPath(new URL('../../../native/devbox-helper', import.meta.url));
  if (!existsSync(path)) {
    throw new DevboxError(`the native helper is not built: ${path} is missing`, {
      fix: 'run "npm run build" in the devbox checkout (needs a C compiler and libseccomp: apt-get install gcc make libseccomp-dev)',
    });
  }
  cachedPath = path;
  return path;
}

/** Helper options that create the user namespace with this mapping. */
export function idMapArgs(mapping: IdMapping): string[] {
  return ['--uid-map', formatIdMap(mapping.uidMap), '--gid-map', formatIdMap(mapping.gidMap)];
}

/**
 * The helper's last message in a log it wrote its stderr to (why a detached sandbox failed to start); "no
 * message" when there is none, or no log (removed with a --rm container).
 */
export function lastHelperMessage(logPath: string): string {
  let lines: string[];
  try {
    lines = readFileSync(logPath, 'utf8').trim().split('\n');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'no message';
    throw error;
  }
  return lines[lines.length - 1].replace(/^devbox-helper: /, '') || 'no message';
}
