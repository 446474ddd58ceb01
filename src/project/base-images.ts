/**
 * Pinning a project's base images in devbox.lock: the config's "image", or every image its Dockerfile's FROM
 * and COPY --from name. A reference the lock does not know yet is pinned to the digest its registry gave the
 * image in the store, pulling it when the store has none; `devbox update` pulls every reference again.
 * Loaded only when the environment is (re)made.
 */
import { shortDigest } from '../image/blobs.js';
import { normalizedName, parseReference, repositoryName } from '../image/reference.js';
import type { ImageStore } from '../image/store.js';
import { RegistryStatusError } from '../registry/client.js';
import type { IdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import { LOCK_FILE } from './discover.js';
import { readLock, writeLock, type LockEntry, type ProjectLock } from './lock-file.js';
import { buildArgList, type ProjectConfig } from './project-config.js';

export interface LockedImages {
  /** Normalized reference → REPOSITORY@DIGEST: what the environment is made from. */
  pins: Map<string, string>;
  /** References whose entry was added, dropped or changed (the file was rewritten). */
  changed: { ref: string; before?: LockEntry; after?: LockEntry }[];
  lock: ProjectLock;
}

/**
 * The references the environment starts from, normalized, each once. A reference with a digest is pinned
 * already; one that does not parse is left to the build, which reports it at its Dockerfile line.
 */
async function environmentReferences(project: ProjectConfig): Promise<string[]> {
  const environment = project.environment;
  let refs: string[];
  if (environment.kind === 'image') {
    refs = [environment.image];
  } else {
    const { buildImageReferences } = await import('../builder/builder.js');
    refs = await buildImageReferences({
      context: environment.context,
      file: environment.dockerfile,
      buildArgs: buildArgList(environment.buildArgs),
      target: environment.target,
    });
  }
  const normalized = refs.flatMap((text) => {
    try {
      const ref = parseReference(text);
      return ref.digest ? [] : [normalizedName(ref)];
    } catch {
      return [];
    }
  });
  return [...new Set(normalized)];
}

/** `localhost/…` (no port) is where devbox and podman keep images that exist only here, as podman does. */
function isLocalOnly(ref: string): boolean {
  return parseReference(ref).domain === 'localhost';
}

/** What the lock says for a reference it does not know yet: the stored image's registry digest, else a pull's. */
async function pinReference(store: ImageStore, ref: string, update: boolean): Promise<LockEntry> {
  if (isLocalOnly(ref)) return { local: true };
  const found = store.find(ref);
  const storedDigest = found && store.registryDigest(found.id, repositoryName(parseReference(ref)));
  if (found && !update) return storedDigest ? { digest: storedDigest } : { local: true };
  const { pullImage } = await import('../registry/pull.js');
  try {
    // Only the digest is wanted here: the layers are unpacked for the map of whatever first runs them.
    return { digest: (await pullImage(store, ref, { deferUnpack: true })).registryDigest };
  } catch (error) {
    // Built or imported here under a registry name that registry does not have: it stays a local image.
    if (found && !storedDigest && registryStatus(error) !== undefined) return { local: true };
    throw error;
  }
}

function registryStatus(error: unknown): number | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  return error instanceof RegistryStatusError ? error.status : cause instanceof RegistryStatusError ? cause.status : undefined;
}

function sameEntry(a: LockEntry | undefined, b: LockEntry | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * devbox.lock brought up to date with the environment's references: new ones pinned, unused ones dropped,
 * and with `update` every one resolved again from its registry. The file is rewritten only when it changed.
 */
export async function lockBaseImages(store: ImageStore, project: ProjectConfig, options: { update: boolean }): Promise<LockedImages> {
  const old = readLock(project.root);
  const lock: ProjectLock = { images: {}, features: old.features };
  for (const ref of await environmentReferences(project)) {
    lock.images[ref] = !options.update && old.images[ref] ? old.images[ref] : await pinReference(store, ref, options.update);
  }
  const refs = [...new Set([...Object.keys(old.images), ...Object.keys(lock.images)])].sort();
  const changed = refs.filter((ref) => !sameEntry(old.images[ref], lock.images[ref])).map((ref) => ({ ref, before: old.images[ref], after: lock.images[ref] }));
  if (changed.length) await writeLock(project.root, lock);
  const pins = new Map<string, string>();
  for (const [ref, entry] of Object.entries(lock.images)) {
    if ('digest' in entry) pins.set(ref, `${repositoryName(parseReference(ref))}@${entry.digest}`);
  }
  return { pins, changed, lock };
}

/**
 * Every pinned image in the store, pulled by digest when missing. A digest neither has (deleted upstream, or
 * a lock edited by hand) is a stale lock: one line naming the image and the way out.
 */
export async function ensurePinnedImages(store: ImageStore, pins: ReadonlyMap<string, string>, mapping: IdMapping): Promise<void> {
  for (const [ref, pinned] of pins) {
    if (store.find(pinned)) continue;
    const { pullImage } = await import('../registry/pull.js');
    try {
      await pullImage(store, pinned, { mapping });
    } catch (error) {
      if (registryStatus(error) !== 404) throw error;
      const digest = pinned.slice(pinned.indexOf('@') + 1);
      throw new DevboxError(`${LOCK_FILE} pins ${ref} to ${shortDigest(digest)}, which is neither in the image store nor in its registry`, {
        fix: 'run "devbox update" to pin its current digest',
      });
    }
  }
}
