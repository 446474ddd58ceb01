/**
 * A built environment shared through a registry: `devbox push-env` pushes the project's image as
 * ENVIMAGE:<first 12 hex digits of the inputs hash>, and a teammate whose inputs hash to the same value pulls
 * it instead of building. The image carries its full inputs hash in a label, set when it was built, and a
 * pulled one is used only when the label matches: a short tag alone could collide or be pushed by hand.
 */
import { normalizedName, parseReference, type ImageReference } from '../image/reference.js';
import type { ImageStore, StoredImage } from '../image/store.js';
import type { IdMapping } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import type { ProjectConfig } from './project-config.js';
import { note } from '../util/warn.js';

export const INPUTS_HASH_LABEL = 'dev.devbox.inputs-hash';

/** The tag an environment gets for its inputs: 12 hex digits, as image ids are shown. */
export function inputsHashTag(inputsHash: string): string {
  return inputsHash.slice('sha256:'.length, 'sha256:'.length + 12);
}

/** localhost/devbox-env/NAME:HASH12: named after the project and its inputs, so `devbox images` says what it is. */
export function localEnvironmentName(project: ProjectConfig, inputsHash: string): string {
  const name =
    project.name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'project';
  return `localhost/devbox-env/${name}:${inputsHashTag(inputsHash)}`;
}

/** A repository given without tag or digest (devbox.json's envImage, push-env's argument); `where` names the place. */
export function environmentRepository(text: string, where: string): ImageReference {
  const ref = parseReference(text);
  if (ref.tag || ref.digest) {
    throw new DevboxError(`${where} "${text}" names a ${ref.digest ? 'digest' : 'tag'}`, {
      fix: 'give the repository alone (REGISTRY/NAME): devbox tags it with the inputs hash',
    });
  }
  return ref;
}

/** REPOSITORY:HASH12, what push-env pushes and a teammate pulls. */
export function sharedEnvironmentName(repository: ImageReference, inputsHash: string): string {
  return normalizedName({ ...repository, tag: inputsHashTag(inputsHash) });
}

/**
 * The teammate's image for these inputs, pulled from the project's envImage and named like a local build;
 * undefined (after one note line) when the registry has none, cannot be reached, or has one for other inputs.
 */
export async function pullSharedEnvironment(
  store: ImageStore,
  project: ProjectConfig,
  envImage: string,
  inputsHash: string,
  mapping: IdMapping,
): Promise<StoredImage | undefined> {
  const name = sharedEnvironmentName(environmentRepository(envImage, `${project.source.path}: "envImage"`), inputsHash);
  const { pullImage } = await import('../registry/pull.js');
  let image: StoredImage;
  try {
    image = await pullImage(store, name, { mapping });
  } catch (error) {
    if (!(error instanceof DevboxError)) throw error;
    note(`${error.message}; building the environment here`);
    return undefined;
  }
  const label = image.config.config?.Labels?.[INPUTS_HASH_LABEL];
  if (label !== inputsHash) {
    note(`${name} was built from other inputs (label ${INPUTS_HASH_LABEL}=${label ?? 'missing'}); building the environment here`);
    return undefined;
  }
  await store.tag(image.id, [localEnvironmentName(project, inputsHash)]);
  return image;
}
