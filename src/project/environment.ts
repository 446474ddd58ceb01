/**
 * What a project's sandbox is made of: its image (from the store, pulled or built as the config says) and
 * its mounts (binds, named volumes kept in the store, tmpfs). Loaded only when the sandbox is (re)started.
 */
import { resolveBaseImage } from '../builder/base-image.js';
import { ImageStore, type StoredImage } from '../image/store.js';
import type { Settings } from '../settings/settings.js';
import { PROJECT_USERNS, projectIdMapping } from '../userns/idmap.js';
import { ensurePinnedImages, lockBaseImages } from './base-images.js';
import { INPUTS_HASH_LABEL, localEnvironmentName, pullSharedEnvironment } from './env-image.js';
import { projectInputsHash } from './inputs-hash.js';
import { buildFeaturesImage } from './devcontainer/feature-build.js';
import { lockFeatures } from './devcontainer/feature-resolve.js';
import { buildArgList, type ProjectConfig } from './project-config.js';
import type { MountSpec } from '../volume/mount-spec.js';

export interface ProjectImage {
  store: ImageStore;
  image: StoredImage;
  /** How messages name it: the config's image, or the environment's local name. */
  imageName: string;
  /** The inputs hash the image is made from, devbox.lock as it is once every base image is pinned included. */
  inputsHash: string;
}

/**
 * The project's image, made from the base images and Features devbox.lock pins (pinning new ones first): the
 * config's image as it is; else the image already made from these inputs, else the one a teammate pushed to
 * the project's envImage, else a build: the Dockerfile, then the Features on top (a build with nothing to do
 * is quick).
 */
export async function projectImage(project: ProjectConfig, settings: Settings): Promise<ProjectImage> {
  const store = ImageStore.open(settings.storageRoot);
  const { pins } = await lockBaseImages(store, project, { update: false });
  const environment = project.environment;
  const features = project.features.length ? await lockFeatures(project, store.root, false) : undefined;
  // devbox.lock is one of the inputs, and this or a concurrent entry may have just written it: hash it now.
  const inputsHash = await projectInputsHash(project);
  // Pulls unpack for the map the sandbox runs in (the project map, not a container's default).
  const { mapping } = projectIdMapping();
  if (environment.kind === 'image' && !features) {
    await ensurePinnedImages(store, pins, mapping);
    return { store, image: await resolveBaseImage(store, environment.image, { pins, mapping }), imageName: environment.image, inputsHash };
  }
  const name = localEnvironmentName(project, inputsHash);
  const made = store.find(name);
  if (made) return { store, image: await store.resolve(made.id), imageName: name, inputsHash };
  const shared = project.envImage === undefined ? undefined : await pullSharedEnvironment(store, project, project.envImage, inputsHash, mapping);
  if (shared) return { store, image: shared, imageName: name, inputsHash };
  await ensurePinnedImages(store, pins, mapping);
  const label = `${INPUTS_HASH_LABEL}=${inputsHash}`;
  const baseRef = environment.kind === 'image' ? environment.image : features ? name.replace(/:([^:]+)$/, '-base:$1') : name;
  if (environment.kind === 'dockerfile') {
    const { buildImage } = await import('../builder/builder.js');
    const { id } = await buildImage({
      context: environment.context,
      file: environment.dockerfile,
      tags: [baseRef],
      buildArgs: buildArgList(environment.buildArgs),
      target: environment.target,
      noCache: false,
      progress: 'auto',
      network: 'host',
      labels: [label],
      pinnedImages: pins,
      userns: PROJECT_USERNS,
      ...(project.buildCache === undefined
        ? {}
        : { cacheFrom: [project.buildCache], ...(settings.exportBuildCache ? { cacheTo: { ref: project.buildCache, mode: 'max' as const } } : {}) }),
    });
    if (!features) return { store, image: await store.resolve(id), imageName: name, inputsHash };
  }
  const base = await resolveBaseImage(store, baseRef, { pins, mapping });
  const id = await buildFeaturesImage(project, { baseRef, base, features: features!.features, tags: [name], labels: [label], pinnedImages: pins });
  return { store, image: await store.resolve(id), imageName: name, inputsHash };
}

/** The project's mounts: what is at workspaceFolder (workspaceMount, else the repo when that is elsewhere), then the config's. */
export function projectMounts(project: ProjectConfig): MountSpec[] {
  // The repo is always at its own path too (the live sandbox mounts it there).
  const repo: MountSpec = { type: 'bind', source: project.root, target: project.workspaceFolder, readonly: false };
  const workspace = project.workspaceMount ? [project.workspaceMount] : project.workspaceFolder === project.root ? [] : [repo];
  return [...workspace, ...project.mounts];
}
