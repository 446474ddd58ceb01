/**
 * The project's inputs hash: what the environment's image is built from. Equal hashes mean the image can be
 * reused as it is (no build), including one a teammate pushed. So the hash holds no absolute path of this
 * machine: files are named relative to the project root. devbox.lock is one of the inputs: the same lock
 * means the same base images.
 */
import { createHash, type Hash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { lockPath } from './discover.js';
import type { ProjectConfig } from './project-config.js';

/**
 * Hook filled by the build module: a digest of what the Dockerfile reads of the build context (the files its
 * COPY and ADD sources name, left after .dockerignore, their modes and contents). Without it, the hash covers
 * the config and the Dockerfile only, and a change to a file the Dockerfile COPYs goes unnoticed.
 */
export type BuildContextHasher = (context: string, dockerfile: string) => Promise<string>;

/** Bump when what goes into the hash changes, so old images are not taken for current ones. */
const FORMAT = 'devbox-project-inputs/4';

function field(hash: Hash, name: string, value: string | Buffer): void {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  hash.update(`${name}\0${bytes.length}\0`);
  hash.update(bytes);
}

const sourcesRead = new Map<string, string[]>();

/**
 * What the Dockerfile reads of its build context (builder/context.ts's contextSourcesOf), by the build module:
 * only those files are inputs, so editing the rest of a repo given as the context ("context": "..") neither
 * rebuilds the environment nor replaces its sandbox.
 */
export async function contextSourcesRead(dockerfile: string): Promise<string[]> {
  const text = await readFile(dockerfile, 'utf8');
  let sources = sourcesRead.get(text);
  if (!sources) {
    const { contextSourcesOf } = await import('../builder/context.js');
    sources = contextSourcesOf(text);
    sourcesRead.set(text, sources);
  }
  return sources;
}

/** The paths in the context below which the Dockerfile's build reads (join-record.ts watches them). */
export async function contextPathsRead(dockerfile: string): Promise<string[]> {
  const { sourcePrefix } = await import('../builder/sources.js');
  return [...new Set((await contextSourcesRead(dockerfile)).map(sourcePrefix))];
}

/** A Dockerfile project's build context as the Dockerfile sees it (after .dockerignore), by the build module. */
function contextHasher(config: ProjectConfig): BuildContextHasher | undefined {
  if (config.environment.kind !== 'dockerfile') return undefined;
  return async (context, dockerfile) => {
    const { openContext, hashContextSources } = await import('../builder/context.js');
    const opened = openContext(context, dockerfile);
    return hashContextSources(opened, await contextSourcesRead(opened.dockerfile)).digest;
  };
}

/** Every file of a folder (a local Feature): names, executable bits, contents, link targets; in name order. */
async function hashTree(hash: Hash, root: string, dir = root): Promise<void> {
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const stats = await lstat(path);
    const where = relative(root, path);
    if (stats.isDirectory()) {
      field(hash, 'dir', where);
      await hashTree(hash, root, path);
    } else if (stats.isSymbolicLink()) field(hash, `link:${where}`, await readlink(path));
    else if (stats.isFile()) field(hash, `file:${where}:${stats.mode & 0o111 ? 'x' : '-'}`, await readFile(path));
  }
}

/** Local Features (`./path` beside the config): files of the repo, not pinned by the lock, so their content is an input. */
export function localFeatureFolders(config: ProjectConfig): { id: string; folder: string }[] {
  return config.features
    .filter((f) => f.id.startsWith('./') || f.id.startsWith('../'))
    .map((f) => ({ id: f.id, folder: resolve(dirname(config.source.path), f.id) }));
}

/** "sha256:<hex>" of the config file, devbox.lock, the Dockerfile (or the image reference) and the build context. */
export async function projectInputsHash(config: ProjectConfig, hashBuildContext = contextHasher(config)): Promise<string> {
  const hash = createHash('sha256');
  field(hash, 'format', FORMAT);
  field(hash, 'config', relative(config.root, config.source.path));
  field(hash, 'config-content', await readFile(config.source.path));
  field(
    hash,
    'lock-content',
    await readFile(lockPath(config.root)).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error))),
  );
  for (const file of config.services?.files ?? []) {
    field(hash, 'services-file', relative(config.root, file));
    field(hash, 'services-content', await readFile(file).catch(() => ''));
  }
  for (const { id, folder } of localFeatureFolders(config)) {
    field(hash, 'local-feature', id);
    await hashTree(hash, folder).catch(() => field(hash, 'missing', id));
  }
  const environment = config.environment;
  if (environment.kind === 'image') {
    field(hash, 'image', environment.image);
  } else {
    field(hash, 'dockerfile', relative(config.root, environment.dockerfile));
    field(hash, 'dockerfile-content', await readFile(environment.dockerfile));
    field(hash, 'context', relative(config.root, environment.context));
    // Resolved values: a ${localEnv:VAR} in an argument changes the build when VAR does.
    field(hash, 'build-args', JSON.stringify(Object.entries(environment.buildArgs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
    field(hash, 'target', environment.target ?? '');
    if (hashBuildContext) field(hash, 'context-content', await hashBuildContext(environment.context, environment.dockerfile));
  }
  return `sha256:${hash.digest('hex')}`;
}
