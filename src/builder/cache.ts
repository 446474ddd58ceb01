/**
 * Build cache keys, like BuildKit's: a step's key is the hash of its parent's key and what the step does
 * with everything expanded (the instruction's arguments, the environment a RUN sees, for COPY/ADD the
 * content hash of the sources), so the chain of keys names a build's history. A stage starts from the id
 * of its base image (a content digest) or from the key of the stage it builds on.
 */
import { createHash } from 'node:crypto';

/** Bumped when the meaning of a cached result changes, so old entries stop matching. */
const CACHE_VERSION = 'devbox-build-v1';

/** The key of a step: `parent` (the previous key) and a JSON-serializable description of the step. */
export function stepKey(parent: string, step: unknown): string {
  return createHash('sha256')
    .update(`${CACHE_VERSION}\n${parent}\n${JSON.stringify(step)}`)
    .digest('hex');
}
