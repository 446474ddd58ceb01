/**
 * Installing Features on the environment's image the way devcontainers/cli does without BuildKit (its path
 * for podman): a generated Dockerfile whose stage starts from the image, copies each Feature's folder (with
 * the env file of its options and a wrapper that sources them) into /tmp/dev-container-features/ID_N and runs
 * it as root, one COPY and one RUN per Feature, in install order, each Feature's containerEnv as ENV before
 * it. devbox's builder runs it (src/builder), so its step cache keeps every Feature's layer: a change to the
 * third Feature reinstalls the third and those after it. The image's devcontainer.metadata label gets the
 * Features' entries after the base image's.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredImage } from '../../image/store.js';
import { DevboxError } from '../../util/errors.js';
import { devboxSchema } from '../package-files.js';
import type { ProjectConfig } from '../project-config.js';
import { LABEL_PROPERTIES } from './feature-metadata.js';
import { PROJECT_USERNS } from '../../userns/idmap.js';
import { optionsEnvFile } from './feature-options.js';
import type { ResolvedFeature } from './feature-resolve.js';
import { METADATA_LABEL, mergeMetadata, parseMetadataLabel, type MetadataEntry } from './metadata.js';

/** Where the generated stage puts each Feature (the reference implementation's folder, so scripts that look find it). */
export const FEATURES_FOLDER = '/tmp/dev-container-features';
export const TARGET_STAGE = 'dev_containers_target_stage';
const BUILTIN_ENV = 'devcontainer-features.builtin.env';
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** A word as sh reads it back literally. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The folder of the Nth Feature in the build: its id and its place in the order. */
export function featureFolder(feature: ResolvedFeature, index: number): string {
  return `${feature.metadata.id}_${index}`;
}

/** The script that installs one Feature: its options and the users in the environment, then its install.sh. */
function installWrapper(feature: ResolvedFeature): string {
  const name = shellQuote(`${feature.metadata.name ?? feature.metadata.id} (${feature.id})`);
  return `#!/bin/sh
# Written by devbox: installs one Dev Container Feature (containers.dev/implementors/features, "Execution").
set -e
failed() {
	status=$?
	[ "$status" -eq 0 ] || echo "Feature "${name}" failed to install (status $status)" >&2
}
trap failed EXIT
echo "==> Feature "${name}
set -a
. ../${BUILTIN_ENV}
. ./devcontainer-features.env
set +a
chmod +x ./install.sh
./install.sh
`;
}

/** ENV lines for a Feature's containerEnv: quotes and backslashes escaped, `${PATH}` left for the build to expand. */
function envLines(env: Record<string, string> | undefined): string[] {
  return Object.entries(env ?? {}).map(([key, value]) => `ENV ${key}="${value.replace(/["\\]/g, '\\$&')}"`);
}

/** The home folder of a user as the build sees it: /etc/passwd by name or uid, without trusting NSS modules of the image. */
function homeOf(user: string): string {
  return `$(grep -E '^${user}:|^[^:]*:[^:]*:${user}:' /etc/passwd | head -n 1 | cut -d: -f6)`;
}

export interface FeatureUsers {
  containerUser: string;
  remoteUser: string;
}

/** The generated Dockerfile (build arguments: _DEV_CONTAINERS_BASE_IMAGE, _DEV_CONTAINERS_IMAGE_USER). */
export function featuresDockerfile(features: readonly ResolvedFeature[], users: FeatureUsers): string {
  const lines = [
    '# Written by devbox: the Dev Container Features of this project, installed on its image.',
    'ARG _DEV_CONTAINERS_BASE_IMAGE=placeholder',
    `FROM $_DEV_CONTAINERS_BASE_IMAGE AS ${TARGET_STAGE}`,
    'USER root',
    `COPY ${BUILTIN_ENV} ${FEATURES_FOLDER}/`,
    `RUN chmod -R 0755 ${FEATURES_FOLDER} \\`,
    ` && echo "_CONTAINER_USER_HOME=${homeOf(users.containerUser)}" >> ${FEATURES_FOLDER}/${BUILTIN_ENV} \\`,
    ` && echo "_REMOTE_USER_HOME=${homeOf(users.remoteUser)}" >> ${FEATURES_FOLDER}/${BUILTIN_ENV}`,
  ];
  for (const [index, feature] of features.entries()) {
    const dest = `${FEATURES_FOLDER}/${featureFolder(feature, index)}`;
    lines.push(
      ...envLines(feature.metadata.containerEnv),
      `COPY --chown=root:root ${featureFolder(feature, index)} ${dest}`,
      `RUN chmod -R 0755 ${dest} \\`,
      ` && cd ${dest} \\`,
      ' && chmod +x ./devcontainer-features-install.sh \\',
      ' && ./devcontainer-features-install.sh',
    );
  }
  lines.push('ARG _DEV_CONTAINERS_IMAGE_USER=root', 'USER $_DEV_CONTAINERS_IMAGE_USER', '');
  return lines.join('\n');
}

/** Writes the build context: the users file, and per Feature its files, its options and its wrapper. */
export async function writeFeaturesContext(dir: string, features: readonly ResolvedFeature[], users: FeatureUsers): Promise<void> {
  await writeFile(join(dir, BUILTIN_ENV), `_CONTAINER_USER=${users.containerUser}\n_REMOTE_USER=${users.remoteUser}\n`);
  for (const [index, feature] of features.entries()) {
    const folder = join(dir, featureFolder(feature, index));
    await mkdir(folder);
    // Links are copied as links: a Feature's tar cannot make the build read outside its folder.
    await cp(feature.dir, folder, { recursive: true, verbatimSymlinks: true });
    await writeFile(join(folder, 'devcontainer-features.env'), optionsEnvFile(feature.options));
    await writeFile(join(folder, 'devcontainer-features-install.sh'), installWrapper(feature), { mode: 0o755 });
  }
  await writeFile(join(dir, 'Dockerfile'), featuresDockerfile(features, users));
}

/** The image's metadata entries (as its label has them), each one checked. */
function baseEntries(image: StoredImage): MetadataEntry[] {
  const label = image.config.config?.Labels?.[METADATA_LABEL];
  return label === undefined ? [] : parseMetadataLabel(label, 'the base image', devboxSchema().$defs ?? {}).entries;
}

/** The container and remote users Features are told about (_CONTAINER_USER, _REMOTE_USER). */
export function featureUsers(project: ProjectConfig, base: StoredImage): FeatureUsers {
  const merged = mergeMetadata([...baseEntries(base).map((entry) => ({ origin: 'image', entry })), { origin: 'devcontainer.json', entry: project.metadata }]);
  const containerUser = merged.containerUser ?? (base.config.config?.User || 'root');
  const remoteUser = merged.remoteUser ?? containerUser;
  for (const user of [containerUser, remoteUser]) {
    if (!USER_NAME.test(user.split(':')[0]))
      throw new DevboxError(`"${user}" is not a user name devbox can give to Features`, { fix: 'name a user of the image' });
  }
  return { containerUser: containerUser.split(':')[0], remoteUser: remoteUser.split(':')[0] };
}

/** The devcontainer.metadata label of the image with Features: the base image's entries, then one per Feature. */
export function featuresLabel(base: StoredImage, features: readonly ResolvedFeature[]): string {
  const entries: MetadataEntry[] = [
    ...baseEntries(base),
    ...features.map((feature) => {
      const entry: Record<string, unknown> = { id: feature.id };
      for (const key of LABEL_PROPERTIES) if (feature.metadata[key] !== undefined) entry[key] = feature.metadata[key];
      return entry as MetadataEntry;
    }),
  ];
  return JSON.stringify(entries);
}

export interface FeaturesBuild {
  /** The image the Features go on, as FROM names it (pins resolve it). */
  baseRef: string;
  base: StoredImage;
  features: readonly ResolvedFeature[];
  tags: string[];
  /** KEY=VALUE labels besides devcontainer.metadata. */
  labels: string[];
  pinnedImages: ReadonlyMap<string, string>;
}

/** Builds the image with the Features installed; returns its id. */
export async function buildFeaturesImage(project: ProjectConfig, build: FeaturesBuild): Promise<string> {
  const users = featureUsers(project, build.base);
  const context = await mkdtemp(join(tmpdir(), 'devbox-features-'));
  try {
    await writeFeaturesContext(context, build.features, users);
    const { buildImage } = await import('../../builder/builder.js');
    const { id } = await buildImage({
      context,
      file: join(context, 'Dockerfile'),
      tags: build.tags,
      buildArgs: [`_DEV_CONTAINERS_BASE_IMAGE=${build.baseRef}`, `_DEV_CONTAINERS_IMAGE_USER=${build.base.config.config?.User || 'root'}`],
      target: TARGET_STAGE,
      noCache: false,
      progress: 'auto',
      network: 'host',
      labels: [`${METADATA_LABEL}=${featuresLabel(build.base, build.features)}`, ...build.labels],
      pinnedImages: build.pinnedImages,
      userns: PROJECT_USERNS,
    });
    return id;
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}
