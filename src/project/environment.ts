/**
 * What a project's sandbox is made of: its image (from the store, pulled or built as the config says) and
 * its mounts (binds, named volumes kept in the store, tmpfs). Loaded only when the sandbox is (re)started.
 */
import { resolveBaseImage } from '../builder/base-image.js';
import { ImageStore, type StoredImage } from '../image/store.js';
import type { Settings } from '../settings/settings.js';
import { ensurePinnedImages, lockBaseImages } from './base-images.js';
import { INPUTS_HASH_LABEL, localEnvironmentName, pullSharedEnvironment } from './env-image.js';
import { projectInputsHash } from './inputs-hash.js';
import { buildArgList, type ProjectConfig } from './project-config.js';
import type { MountSpec } from '../volume/mount-spec.js';

export interface ProjectImage {
  store: ImageStore;
  image: StoredImage;
  /** The inputs hash the image is made from, devbox.lock as it is once every base image is pinned included. */
  inputsHash: string;
}

/**
 * The project's image, made from the base images devbox.lock pins (pinning new ones first): the config's image;
 * or, for a Dockerfile, the image already made from these inputs, else the one a teammate pushed to the
 * project's envImage, else a build (one with nothing to do is quick).
 */
export async function projectImage(project: ProjectConfig, settings: Settings): Promise<ProjectImage> {
  const store = ImageStore.open(settings.storageRoot);
  const { pins } = await lockBaseImages(store, project, { update: false });
  // devbox.lock is one of the inputs, and this or a concurrent entry may have just written it: hash it now.
  const inputsHash = await projectInputsHash(project);
  const environment = project.environment;
  if (environment.kind === 'image') {
    await ensurePinnedImages(store, pins);
    return { store, image: await resolveBaseImage(store, environment.image, pins), inputsHash };
  }
  const name = localEnvironmentName(project, inputsHash);
  const made = store.find(name);
  if (made) return { store, image: await store.resolve(made.id), inputsHash };
  const shared = project.envImage === undefined ? undefined : await pullSharedEnvironment(store, project, project.envImage, inputsHash);
  if (shared) return { store, image: shared, inputsHash };
  await ensurePinnedImages(store, pins);
  const { buildImage } = await import('../builder/builder.js');
  const { id } = await buildImage({
    context: environment.context,
    file: environment.dockerfile,
    tags: [name],
    buildArgs: buildArgList(environment.buildArgs),
    target: environment.target,
    noCache: false,
    progress: 'auto',
    network: 'host',
    labels: [`${INPUTS_HASH_LABEL}=${inputsHash}`],
    pinnedImages: pins,
  });
  return { store, image: await store.resolve(id), inputsHash };
}

/** The project's mounts: the repo at workspaceFolder too (when that is elsewhere), then the config's. */
export function projectMounts(project: ProjectConfig): MountSpec[] {
  const workspace: MountSpec[] =
    project.workspaceFolder === project.root ? [] : [{ type: 'bind', source: project.root, target: project.workspaceFolder, readonly: false }];
  return [...workspace, ...project.mounts];
}
