/**
 * RUN --mount, of the one type devbox implements: `type=cache`, BuildKit's persistent cache directory
 * (`target=`, `id=`, `mode=`, `uid=`, `gid=`, `sharing=`). It lives in the store, at
 * build-cache-mounts/<hash of its id>, and survives every build: that is what makes apt and npm installs in
 * templates fast. Other mount types are refused with a clear message rather than ignored.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { withFileLock } from '../util/file-lock.js';
import type { Owner } from './fs-actions.js';
import { StepError } from './step-error.js';

export interface CacheMount {
  target: string;
  owner: Owner;
  mode: number;
  /** BuildKit's sharing: `shared` mounts are used by steps at the same time, `locked` and `private` by one at a time. */
  sharing: 'shared' | 'locked' | 'private';
  /** What the cache key records about the mount. */
  describe: string;
  /** The directory in the store. */
  cacheDir(storeRoot: string): string;
}

const KEYS = new Set(['type', 'target', 'dst', 'destination', 'id', 'sharing', 'mode', 'uid', 'gid', 'readonly', 'ro', 'rw', 'readwrite']);

function number(key: string, value: string, radix: number): number {
  const n = parseInt(value, radix);
  if (!/^[0-9]+$/.test(value) || Number.isNaN(n)) throw new StepError(`--mount: ${key}=${value} is not a number`);
  return n;
}

export function parseRunMounts(specs: readonly string[], expand: (word: string) => string): CacheMount[] {
  return specs.map((spec) => {
    const fields = new Map<string, string>();
    for (const part of expand(spec).split(',')) {
      const eq = part.indexOf('=');
      fields.set((eq < 0 ? part : part.slice(0, eq)).toLowerCase(), eq < 0 ? 'true' : part.slice(eq + 1));
    }
    // The type first: the options of a bind or secret mount are not unknown, only unsupported with them.
    const type = fields.get('type') ?? 'bind';
    if (type !== 'cache') throw new StepError(`--mount=type=${type} is not supported by devbox build (only type=cache)`);
    const unknown = [...fields.keys()].find((key) => !KEYS.has(key));
    if (unknown !== undefined) throw new StepError(`--mount: unknown option "${unknown}"`);
    const target = fields.get('target') ?? fields.get('dst') ?? fields.get('destination');
    if (!target) throw new StepError('--mount=type=cache needs target=PATH');
    if (!posix.isAbsolute(target)) throw new StepError(`--mount: target "${target}" must be an absolute path`);
    const sharing = fields.get('sharing') ?? 'shared';
    if (!['shared', 'private', 'locked'].includes(sharing)) throw new StepError(`--mount: sharing=${sharing}: use shared, private or locked`);
    const id = fields.get('id') ?? posix.normalize(target);
    const owner = { uid: number('uid', fields.get('uid') ?? '0', 10), gid: number('gid', fields.get('gid') ?? '0', 10) };
    const mode = number('mode', fields.get('mode') ?? '755', 8);
    const hash = createHash('sha256').update(id).digest('hex').slice(0, 32);
    return {
      target: posix.normalize(target),
      owner,
      mode,
      sharing: sharing as CacheMount['sharing'],
      describe: `cache:${id}:${posix.normalize(target)}`,
      cacheDir: (root) => join(root, 'build-cache-mounts', hash),
    };
  });
}

/**
 * Runs `fn` holding the cache mounts that are not `shared` (each one's lock, in a fixed order): steps of
 * stages that run at the same time, or of other builds, wait for them. `private` waits too (BuildKit gives a
 * step that finds it in use a new empty directory instead).
 */
export async function withCacheMountLocks<T>(storeRoot: string, mounts: readonly CacheMount[], fn: () => Promise<T>): Promise<T> {
  const names = [...new Set(mounts.filter((m) => m.sharing !== 'shared').map((m) => basename(m.cacheDir(storeRoot))))].sort();
  if (!names.length) return fn();
  // Not beside the mounts: their folder is made by root of the user namespace, which the user is not.
  const locks = join(storeRoot, 'build-cache-mount-locks');
  await mkdir(locks, { recursive: true, mode: 0o700 });
  const hold = (i: number): Promise<T> =>
    i === names.length ? fn() : withFileLock(join(locks, names[i]), `the build cache mount ${names[i]}`, () => hold(i + 1));
  return hold(0);
}
