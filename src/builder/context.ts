/**
 * The build context: which Dockerfile, which ignore file, Docker's ignore rules (@balena/dockerignore, which
 * follows moby's implementation, `!` exceptions included; case-sensitive as on Linux), and the content hash
 * of COPY/ADD sources that goes into a step's cache key. The hash covers what the copy would produce:
 * names, types, permission bits, sizes, link targets and content, never mtimes or the host's ownership
 * (context files are copied as root), like BuildKit's contenthash.
 */
import type dockerignoreModule from '@balena/dockerignore';
import { createHash, type Hash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readlinkSync, readSync, statSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { describeError, DevboxError } from '../util/errors.js';
import { LayerView } from '../image/layer-view.js';
import { type BuildPlan, parseBuildPlan } from './instructions.js';
import { isUrl, matchSources, walkTree, type IgnoreRules, type SourceMatch } from './sources.js';

/** @balena/dockerignore, loaded when a build has ignore patterns (a CommonJS module: the function is the module). */
function dockerignore(): typeof dockerignoreModule.default {
  return createRequire(import.meta.url)('@balena/dockerignore') as typeof dockerignoreModule.default;
}

export interface BuildContext {
  /** Absolute path of the context directory. */
  dir: string;
  dockerfile: string;
  /** How messages name the Dockerfile (`Dockerfile:3: …`). */
  dockerfileLabel: string;
  /** .dockerignore / .containerignore patterns ([] without an ignore file). */
  ignorePatterns: string[];
}

function fail(message: string, fix: string): DevboxError {
  return new DevboxError(message, { fix });
}

/** Finds the context, the Dockerfile (-f, else Dockerfile, else Containerfile) and the ignore file. */
export function openContext(contextPath: string, file?: string): BuildContext {
  const dir = resolve(contextPath);
  let st: Stats;
  try {
    st = statSync(dir);
  } catch (error) {
    throw fail(`build context "${contextPath}": ${describeError(error)}`, 'give a directory as the build context');
  }
  if (!st.isDirectory()) throw fail(`build context "${contextPath}" is not a directory`, 'give a directory as the build context');
  let dockerfile: string;
  if (file !== undefined) {
    dockerfile = resolve(file);
  } else {
    const candidates = ['Dockerfile', 'Containerfile'].map((name) => join(dir, name));
    dockerfile = candidates.find((c) => existsSync(c)) ?? candidates[0];
  }
  if (!existsSync(dockerfile)) {
    throw fail(`no Dockerfile: ${file ?? `${join(contextPath, 'Dockerfile')} (or Containerfile)`} does not exist`, 'create one, or name it with -f');
  }
  return { dir, dockerfile, dockerfileLabel: file ?? basename(dockerfile), ignorePatterns: readIgnorePatterns(dir, dockerfile) };
}

/** Where an ignore file may be, first found first. */
export function ignoreFiles(contextDir: string, dockerfile: string): string[] {
  return [`${dockerfile}.dockerignore`, `${dockerfile}.containerignore`, join(contextDir, '.containerignore'), join(contextDir, '.dockerignore')];
}

/**
 * Patterns of the first ignore file found: `<Dockerfile>.dockerignore` or `.containerignore` beside the
 * Dockerfile (BuildKit and buildah), else `.containerignore` or `.dockerignore` at the context's root.
 */
export function readIgnorePatterns(contextDir: string, dockerfile: string): string[] {
  for (const path of ignoreFiles(contextDir, dockerfile)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    return text.split(/\r?\n/).filter((line) => line.trim() && !line.startsWith('#'));
  }
  return [];
}

/** Docker's ignore rules for paths relative to the context root. */
export function ignoreRules(patterns: readonly string[]): IgnoreRules {
  const matcher = dockerignore()({ ignorecase: false }).add([...patterns]);
  return {
    ignores: (rel: string) => rel !== '' && matcher.ignores(rel),
    hasExceptions: patterns.some((p) => p.trim().startsWith('!')),
  };
}

function hashFile(hash: Hash, path: string): void {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 16);
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) hash.update(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

function entryLine(hash: Hash, rel: string, st: import('node:fs').Stats, hostPath: string): void {
  const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isFile() ? 'file' : 'other';
  hash.update(`${JSON.stringify([rel, type, st.mode & 0o7777, st.isFile() ? st.size : 0, st.isSymbolicLink() ? readlinkSync(hostPath) : ''])}\n`);
  if (st.isFile()) {
    const content = createHash('sha256');
    hashFile(content, hostPath);
    hash.update(content.digest());
  }
}

export interface HashedSources {
  digest: string;
  /** Sources (as written) that match nothing. */
  missing: string[];
}

/** The content hash of COPY/ADD sources in the context, after the ignore rules (`patterns`). */
export function hashContextSources(context: BuildContext, sources: readonly string[], patterns: readonly string[] = context.ignorePatterns): HashedSources {
  const view = new LayerView([{ dir: context.dir, opaque: new Set() }]);
  const ignore = patterns.length ? ignoreRules(patterns) : undefined;
  const hash = createHash('sha256');
  const missing: string[] = [];
  for (const source of sources) {
    hash.update(`source ${JSON.stringify(source)}\n`);
    let matches: SourceMatch[];
    try {
      matches = matchSources(view, source, ignore);
    } catch (error) {
      throw new DevboxError(`"${source}": ${describeError(error)}`);
    }
    if (!matches.length) missing.push(source);
    for (const match of matches) {
      entryLine(hash, match.name, match.stats, match.hostPath);
      if (!match.stats.isDirectory()) continue;
      for (const entry of walkTree(view, match.rel, ignore)) entryLine(hash, `${match.name}/${entry.rel}`, entry.stats, entry.hostPath);
    }
  }
  return { digest: `sha256:${hash.digest('hex')}`, missing };
}

/**
 * What of its context a Dockerfile's build can read: the sources of the COPY and ADD instructions that copy
 * from the context (no --from, no URL), of every stage, sorted. ["."] (all of it) when a source holds a
 * variable (its value is known only while building) or the Dockerfile does not parse (the build says why).
 * A base image's ONBUILD triggers are not seen: they are in the image, not in the Dockerfile.
 */
export function contextSourcesOf(dockerfileText: string): string[] {
  let plan: BuildPlan;
  try {
    plan = parseBuildPlan(dockerfileText);
  } catch {
    return ['.'];
  }
  const sources = new Set<string>();
  for (const stage of plan.stages)
    for (const instruction of stage.instructions) {
      if ((instruction.kind !== 'COPY' && instruction.kind !== 'ADD') || instruction.from !== undefined) continue;
      for (const source of instruction.sources) {
        if (source.includes('$')) return ['.'];
        if (!isUrl(source)) sources.add(source);
      }
    }
  return [...sources].sort();
}
