/**
 * What a project's sandbox is made of: its image (from the store, pulled or built as the config says) and
 * its mounts (binds, named volumes kept in the store, tmpfs). Loaded only when the sandbox is (re)started.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ImageStore, type StoredImage } from '../image/store.js';
import type { BindMount } from '../runtime/spec.js';
import type { Settings } from '../settings/settings.js';
import { ensureImage } from '../registry/ensure.js';
import type { ProjectConfig } from './project-config.js';

/** The project's image: pulled when missing, or built from its Dockerfile (a build with nothing to do is quick). */
export async function projectImage(project: ProjectConfig, settings: Settings, inputsHash: string): Promise<{ store: ImageStore; image: StoredImage }> {
  const store = ImageStore.open(settings.storageRoot);
  const environment = project.environment;
  if (environment.kind === 'image') return { store, image: await ensureImage(store, environment.image, { pull: 'missing' }) };
  const { buildImage } = await import('../build/builder.js');
  const { id } = await buildImage({
    context: environment.context,
    file: environment.dockerfile,
    // Named after the project and its inputs, so `devbox images` says what it is and old ones can be pruned.
    tags: [`localhost/devbox-env/${projectTag(project.name)}:${inputsHash.slice('sha256:'.length, 'sha256:'.length + 12)}`],
    buildArgs: Object.entries(environment.buildArgs).map(([k, v]) => `${k}=${v}`),
    target: environment.target,
    noCache: false,
    progress: 'auto',
    network: 'host',
  });
  return { store, image: await store.resolve(id) };
}

function projectTag(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'project';
}

/** Named volumes live in the store, shared by every project that names them (as Docker's). */
function volumeDir(storeRoot: string, name: string): string {
  const dir = join(storeRoot, 'volumes', name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export function projectMounts(project: ProjectConfig, storeRoot: string): { mounts: BindMount[]; tmpfs: string[] } {
  const mounts: BindMount[] = [];
  const tmpfs: string[] = [];
  // The repo is always at its own path; a devcontainer.json's workspaceFolder shows it there too.
  if (project.workspaceFolder !== project.root) mounts.push({ source: project.root, destination: project.workspaceFolder, readonly: false });
  for (const mount of project.mounts) {
    if (mount.type === 'tmpfs') tmpfs.push(mount.target);
    else mounts.push({ source: mount.type === 'volume' ? volumeDir(storeRoot, mount.source) : mount.source, destination: mount.target, readonly: mount.readonly });
  }
  return { mounts, tmpfs };
}
