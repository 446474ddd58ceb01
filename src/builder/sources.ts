/**
 * What a COPY or ADD source names inside its root (the build context, or a stage's file system), with
 * Docker's rules: wildcards with Go's filepath.Match syntax per path component (picomatch, with brace,
 * extglob and globstar syntax turned off), a top-level source that is a symlink is followed (inside the
 * root only, LayerView.resolve), symlinks further down are copied as links, and paths the ignore rules
 * exclude do not exist. Shared by the parent (to hash the sources for the cache key) and the worker that
 * copies them, so both see exactly the same list.
 */
import type { Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { cleanPath, type LayerView } from '../image/layer-view.js';

/** Excludes paths (relative to the root), with Docker's .dockerignore rules (context.ts makes one). */
export interface IgnoreRules {
  ignores(rel: string): boolean;
  /** True when some `!` exception may re-include a path below an excluded directory. */
  hasExceptions: boolean;
}

export interface SourceMatch {
  /** The name the source is copied as (its last path component as written; '' for the root). */
  name: string;
  /** Its path in the root, symlinks resolved. */
  rel: string;
  stats: Stats;
  hostPath: string;
}

export interface TreeEntry {
  /** Path relative to the directory walked. */
  rel: string;
  stats: Stats;
  hostPath: string;
}

const GLOB = /[*?[\\]/;
const MATCH_OPTIONS = { dot: true, nobrace: true, noextglob: true, noglobstar: true, posix: true, nonegate: true, noquantifiers: true } as const;

// Loaded on the first wildcard: most builds have none, and a no-op rebuild should not pay for it.
let picomatch: typeof import('picomatch') | undefined;
function matcherFor(pattern: string): (name: string) => boolean {
  picomatch ??= createRequire(import.meta.url)('picomatch') as typeof import('picomatch');
  return picomatch(pattern, MATCH_OPTIONS);
}

/** ADD's http(s) sources (download.ts fetches them). */
export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

export function hasWildcards(path: string): boolean {
  return GLOB.test(path);
}

/** The part of a source before its first wildcard, as a path in the context ("" for all of it, as when it climbs with ".."). */
export function sourcePrefix(source: string): string {
  const parts = source.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) return '';
  const wildcard = parts.findIndex(hasWildcards);
  return (wildcard < 0 ? parts : parts.slice(0, wildcard)).join('/');
}

/**
 * Everything `source` matches in the view, in sorted order. A pattern matching nothing gives [] (the caller
 * decides whether that is an error: Docker allows it only for wildcards).
 */
export function matchSources(view: LayerView, source: string, ignore?: IgnoreRules): SourceMatch[] {
  const parts = cleanPath(source).split('/').filter(Boolean);
  let candidates: string[] = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const dir of candidates) {
      if (!hasWildcards(part)) {
        next.push(dir ? `${dir}/${part}` : part);
        continue;
      }
      const matcher = matcherFor(part);
      const resolved = view.resolve(dir, true);
      for (const name of view.readdir(resolved)) if (matcher(name)) next.push(dir ? `${dir}/${name}` : name);
    }
    candidates = next;
  }
  const matches: SourceMatch[] = [];
  for (const written of candidates) {
    if (written && ignore?.ignores(written) && !(ignore.hasExceptions && hasIncludedDescendant(view, written, ignore))) continue;
    const rel = view.resolve(written, true);
    const entry = view.lookup(rel);
    if (!entry) continue;
    matches.push({ name: written.slice(written.lastIndexOf('/') + 1), rel, stats: entry.stats, hostPath: entry.hostPath });
  }
  return matches.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

function hasIncludedDescendant(view: LayerView, rel: string, ignore: IgnoreRules): boolean {
  return walkTree(view, view.resolve(rel, true), ignore, rel).length > 0;
}

/**
 * The subtree below directory `rel` (not `rel` itself), parents before children, names sorted; symlinks are
 * entries, never followed. `ignoreBase` is the path the ignore rules see for `rel` (the path as written).
 */
export function walkTree(view: LayerView, rel: string, ignore?: IgnoreRules, ignoreBase = rel): TreeEntry[] {
  const out: TreeEntry[] = [];
  const visit = (dir: string, written: string, prefix: string) => {
    for (const name of view.readdir(dir)) {
      const path = dir ? `${dir}/${name}` : name;
      const writtenPath = written ? `${written}/${name}` : name;
      const entryRel = prefix ? `${prefix}/${name}` : name;
      const entry = view.lookup(path);
      if (!entry) continue;
      const ignored = ignore?.ignores(writtenPath) ?? false;
      if (entry.stats.isDirectory()) {
        if (ignored && !ignore!.hasExceptions) continue;
        const before = out.length;
        out.push({ rel: entryRel, stats: entry.stats, hostPath: entry.hostPath });
        visit(path, writtenPath, entryRel);
        if (ignored && out.length === before + 1) out.pop(); // excluded, and no exception inside it
        continue;
      }
      if (!ignored) out.push({ rel: entryRel, stats: entry.stats, hostPath: entry.hostPath });
    }
  };
  visit(rel, ignoreBase, '');
  return out;
}
