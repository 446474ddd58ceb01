/**
 * devbox.lock, at the project root beside devbox.json, meant to be committed: the digest each base image
 * reference of the environment resolved to when it was first used, so a tag moved upstream does not change
 * the environment until `devbox update`. Keys are references as the store names them (busybox →
 * docker.io/library/busybox:latest):
 *
 *   { "lockfileVersion": 1,
 *     "images": { "docker.io/library/debian:12": { "digest": "sha256:…" },
 *                 "localhost/base:dev": { "local": true } },
 *     "features": { "ghcr.io/devcontainers/features/node:1": { "digest": "sha256:…" } } }
 *
 * Dev Container Features are pinned the same way: an OCI Feature to its manifest's digest, a tarball URL to
 * the tarball's sha256 ("features" is left out while there are none).
 * "local" marks an image that exists only in the image store (built or imported here, never pulled): there is
 * no registry digest to pin, so it is used as the store has it. Written with sorted keys and two-space indent,
 * so the file only changes when a pin does.
 */
import { existsSync } from 'node:fs';
import { normalizedName, parseReference } from '../image/reference.js';
import { errorAt, readConfigFile } from './config-file.js';
import { lockPath } from './discover.js';
import { checkedObject } from './normalize.js';
import type { JsonSchema } from './schema-validate.js';
import { writeFilesAtomically } from './write-files.js';

const VERSION = 1;

export type LockEntry = { digest: string } | { local: true };

export interface ProjectLock {
  images: Record<string, LockEntry>;
  features: Record<string, { digest: string }>;
}

const DIGEST = { type: 'string', pattern: '^sha256:[a-f0-9]{64}$', patternErrorMessage: 'sha256: and 64 lowercase hex digits' } as const;

const LOCK_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['lockfileVersion', 'images'],
  properties: {
    lockfileVersion: { enum: [VERSION], description: 'format version' },
    images: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          digest: DIGEST,
          local: { enum: [true] },
        },
      },
    },
    features: {
      type: 'object',
      additionalProperties: { type: 'object', additionalProperties: false, required: ['digest'], properties: { digest: DIGEST } },
    },
  },
};

const REWRITE = 'fix it, or remove it and devbox writes it again';

/** The project's lock; an empty one when there is no file. Errors point at file:line:col. */
export function readLock(root: string): ProjectLock {
  const path = lockPath(root);
  if (!existsSync(path)) return { images: {}, features: {} };
  const file = readConfigFile(path);
  const value = checkedObject(file, LOCK_SCHEMA) as { images: Record<string, LockEntry>; features?: ProjectLock['features'] };
  for (const [key, entry] of Object.entries(value.images)) {
    let normalized: string | undefined;
    try {
      const ref = parseReference(key);
      if (!ref.digest && ref.tag) normalized = normalizedName(ref);
    } catch {
      // reported below
    }
    if (normalized !== key) throw errorAt(file, ['images', key], 'is not an image reference as devbox writes them (REGISTRY/REPOSITORY:TAG)', REWRITE, true);
    if ('digest' in entry === 'local' in entry) throw errorAt(file, ['images', key], 'needs either "digest" or "local": true', REWRITE);
  }
  return { images: value.images, features: value.features ?? {} };
}

function sorted<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, record[key]]),
  );
}

/** The file's text: keys sorted, two-space indent, final newline. */
export function formatLock(lock: ProjectLock): string {
  const features = Object.keys(lock.features).length ? { features: sorted(lock.features) } : {};
  return `${JSON.stringify({ lockfileVersion: VERSION, images: sorted(lock.images), ...features }, null, 2)}\n`;
}

/** Replaces devbox.lock whole (temp file, then rename). */
export async function writeLock(root: string, lock: ProjectLock): Promise<void> {
  await writeFilesAtomically([[lockPath(root), formatLock(lock)]]);
}
