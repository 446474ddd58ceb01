/** `-v SRC:DST[:OPTIONS]` as docker/podman take it, for host paths (named volumes come with project config). */
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import type { BindMount } from '../runtime/spec.js';
import { DevboxError } from '../util/errors.js';

/** Options accepted for compatibility; z/Z relabel for SELinux, which devbox does not use. */
const IGNORED_OPTIONS = new Set(['z', 'Z', 'rbind', 'bind']);

export function parseVolume(spec: string): BindMount {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) {
    throw new DevboxError(`invalid volume "${spec}": expected SRC:DST[:ro]`, { kind: 'usage' });
  }
  const [source, destination, options = ''] = parts;
  if (!source.startsWith('/')) {
    throw new DevboxError(`invalid volume "${spec}": "${source}" is not an absolute host path (named volumes are not supported by devbox run)`, {
      fix: `use an absolute path, e.g. -v "$PWD/${source}:${destination}"`,
      kind: 'usage',
    });
  }
  if (!destination.startsWith('/')) throw new DevboxError(`invalid volume "${spec}": destination "${destination}" must be an absolute path`, { kind: 'usage' });
  let readonly = false;
  for (const option of options.split(',').filter(Boolean)) {
    if (option === 'ro') readonly = true;
    else if (option === 'rw') readonly = false;
    else if (!IGNORED_OPTIONS.has(option)) throw new DevboxError(`invalid volume "${spec}": unknown option "${option}" (use ro or rw)`, { kind: 'usage' });
  }
  try {
    statSync(source);
  } catch {
    throw new DevboxError(`volume source ${source} does not exist`, { fix: `create it first, or fix the path in -v ${spec}` });
  }
  return { source: posix.normalize(source), destination: posix.normalize(destination), readonly };
}
