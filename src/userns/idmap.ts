/**
 * User-namespace id maps, in two layouts over the caller's subordinate range (/etc/subuid, /etc/subgid):
 * root is the caller (rootless podman's own namespace): what Docker-mode commands use — `run`/`create` by
 * default, pulls, imports and `devbox build` — so that files a container's root writes into a bind mount are the
 * caller's; and keep-id (podman's --userns=keep-id): the caller's uid/gid appear as themselves inside, root and
 * every other id are subordinate ids — what project sandboxes and the builds of their environments use, so that
 * the developer is themselves in the repo. Without a subordinate range, a single-id map (container root = the
 * caller). Layers are unpacked once per map (layer-paths.ts), so each layout has its own copy.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { DevboxError } from '../util/errors.js';
import { sha256Hex } from '../util/sha256.js';

export interface IdMapEntry {
  inside: number;
  outside: number;
  count: number;
}

export interface SubordinateRange {
  start: number;
  count: number;
}

export interface IdMapping {
  uidMap: IdMapEntry[];
  gidMap: IdMapEntry[];
  /** The container ids that are the caller on the host (the caller's own ids; 0 in the single-id map). */
  uid: number;
  gid: number;
  /** False for the single-id fallback: only container root exists, and it is the caller. */
  full: boolean;
}

/** Id range given to root, which needs no subordinate ids: the identity map of the usual 16-bit range. */
const ROOT_RANGE = 65536;

/** Ranges for `user` (by name or numeric id) in the text of /etc/subuid or /etc/subgid. */
export function parseSubordinateRanges(text: string, user: string, id: number): SubordinateRange[] {
  const ranges: SubordinateRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [owner, start, count] = line.split(':');
    if (owner !== user && owner !== String(id)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && s >= 0 && c > 0) ranges.push({ start: s, count: c });
  }
  return ranges;
}

/**
 * keep-id: container ids 0,1,2… take the subordinate ids in order, except `id` itself, which maps to the
 * caller's own id (`own`: the caller's id on the host, `id` unless keep-id:uid=N moves it). With M subordinate
 * ids, container ids [0, M] are mapped (M+1 in all).
 */
export function keepIdMap(id: number, ranges: readonly SubordinateRange[], own = id): IdMapEntry[] {
  const entries: IdMapEntry[] = [];
  let next = 0; // next container id to assign
  let selfMapped = false;
  for (const range of ranges) {
    let outside = range.start;
    let left = range.count;
    while (left > 0) {
      if (next === id && !selfMapped) {
        entries.push({ inside: id, outside: own, count: 1 });
        selfMapped = true;
        next += 1;
        continue;
      }
      const count = next < id && !selfMapped ? Math.min(left, id - next) : left;
      entries.push({ inside: next, outside, count });
      next += count;
      outside += count;
      left -= count;
    }
  }
  if (!selfMapped) entries.push({ inside: id, outside: own, count: 1 });
  return entries.sort((a, b) => a.inside - b.inside);
}

/**
 * Root is the caller, ids 1,2… the subordinate ids in order: the user namespace rootless podman itself runs in
 * (its --userns=host), where files a container's root writes into a bind mount are the caller's.
 */
export function rootIsCallerMap(own: number, ranges: readonly SubordinateRange[]): IdMapEntry[] {
  return keepIdMap(0, ranges, own);
}

/** "inside:outside:count,…", the form the native helper takes. */
export function formatIdMap(entries: readonly IdMapEntry[]): string {
  return entries.map((e) => `${e.inside}:${e.outside}:${e.count}`).join(',');
}

/** Short digest of a mapping: layers unpacked under one mapping are kept apart from another's. */
export function idMappingFingerprint(mapping: IdMapping): string {
  const text = `${formatIdMap(mapping.uidMap)};${formatIdMap(mapping.gidMap)}`;
  return sha256Hex(text).slice(0, 12);
}

/**
 * The supplementary groups a process under `mapping` can have: none under the single-id map, where the
 * kernel denies setgroups (an unprivileged gid map is written only after setgroups is disabled).
 */
export function supplementaryGroups(mapping: IdMapping, groups: readonly number[]): number[] {
  return mapping.full ? [...groups] : [];
}

/** Throws the one line that says `uid:gid` has no host id under `mapping`, and how to give it one. */
export function checkMapped(mapping: IdMapping, uid: number, gid: number): void {
  if (hostIdFor(mapping.uidMap, uid) !== undefined && hostIdFor(mapping.gidMap, gid) !== undefined) return;
  throw new DevboxError(`user ${uid}:${gid} is not mapped into the user namespace`, {
    fix: mapping.full
      ? 'give this user a larger range in /etc/subuid and /etc/subgid'
      : 'add a range for this user to /etc/subuid and /etc/subgid (see "devbox doctor")',
  });
}

/** Host id that a container id lands on, or undefined when it is not mapped. */
export function hostIdFor(entries: readonly IdMapEntry[], inside: number): number | undefined {
  const e = entries.find((m) => inside >= m.inside && inside < m.inside + m.count);
  return e ? e.outside + (inside - e.inside) : undefined;
}

export interface ResolvedIdMapping {
  mapping: IdMapping;
  /** Set when devbox falls back to a single-id map; shown to the user once. */
  warning?: string;
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * A subordinate range for `user` that no line of `text` (/etc/subuid or /etc/subgid) overlaps: 65536 ids from
 * the end of the highest range given out, and from 100000 at least, as useradd picks them.
 */
export function freeSubordinateLine(text: string, user: string): string {
  let start = 100000;
  for (const raw of text.split('\n')) {
    const [, s, c] = raw.trim().split(':');
    if (/^\d+$/.test(s ?? '') && /^\d+$/.test(c ?? '')) start = Math.max(start, Number(s) + Number(c));
  }
  return `${user}:${start}:65536`;
}

/**
 * Which map is asked for. A container's (docker and podman's --userns): `default`, root is the caller (the
 * single-id map, with a warning, without subordinate ids); `host`, the same map (without the warning: it was
 * asked for); `keep-id`, the keep-id layout with the caller at `uid`/`gid` (their own ids unless given),
 * running as them, refused without subordinate ids. `project`: a project sandbox's and its environment
 * build's, the keep-id layout with the caller as themselves, the single-id map with a warning without
 * subordinate ids.
 */
export type UsernsRequest = { mode: 'default' } | { mode: 'host' } | { mode: 'keep-id'; uid?: number; gid?: number } | { mode: 'project' };

const SUBORDINATE_FILES = { subuid: '/etc/subuid', subgid: '/etc/subgid' };

/** Builds the mapping for the calling user from /etc/subuid and /etc/subgid. */
export function resolveIdMapping(files = SUBORDINATE_FILES, request: UsernsRequest = { mode: 'default' }): ResolvedIdMapping {
  const uid = process.getuid!();
  const gid = process.getgid!();
  if (uid === 0) {
    // root needs no subordinate ids: every mode is the identity map, where root is itself.
    if (request.mode === 'keep-id' && ((request.uid ?? 0) !== 0 || (request.gid ?? 0) !== 0))
      throw new DevboxError('--userns=keep-id:uid=,gid= is for rootless use: as root, ids inside are already your own', {
        fix: 'leave uid= and gid= out, or run as an unprivileged user',
        kind: 'usage',
      });
    const identity = [{ inside: 0, outside: 0, count: ROOT_RANGE }];
    return { mapping: { uidMap: identity, gidMap: identity, uid, gid, full: true } };
  }
  const name = userInfo().username;
  const uidRanges = parseSubordinateRanges(readOptional(files.subuid), name, uid);
  const gidRanges = parseSubordinateRanges(readOptional(files.subgid), name, uid);
  const full = uidRanges.length > 0 && gidRanges.length > 0;
  if (full && (request.mode === 'default' || request.mode === 'host')) {
    return { mapping: { uidMap: rootIsCallerMap(uid, uidRanges), gidMap: rootIsCallerMap(gid, gidRanges), uid: 0, gid: 0, full: true } };
  }
  if (full) {
    const [inUid, inGid] = request.mode === 'keep-id' ? [request.uid ?? uid, request.gid ?? gid] : [uid, gid];
    return {
      mapping: { uidMap: keepIdMap(inUid, uidRanges, uid), gidMap: keepIdMap(inGid, gidRanges, gid), uid: inUid, gid: inGid, full: true },
    };
  }
  const missing = [!uidRanges.length && files.subuid, !gidRanges.length && files.subgid].filter(Boolean).join(' and ');
  const addLine = freeSubordinateLine(`${readOptional(files.subuid)}\n${readOptional(files.subgid)}`, name);
  if (request.mode === 'keep-id')
    throw new DevboxError(`--userns=keep-id needs subordinate ids (root inside is another id than you), and ${name} has none in ${missing}`, {
      fix: `add "${addLine}" to /etc/subuid and /etc/subgid, or use --userns=host, where root inside is you`,
    });
  const single: IdMapping = {
    uidMap: [{ inside: 0, outside: uid, count: 1 }],
    gidMap: [{ inside: 0, outside: gid, count: 1 }],
    uid: 0,
    gid: 0,
    full: false,
  };
  if (request.mode === 'host') return { mapping: single };
  // default and project: the caller asked for no particular map, so say what the single-id map lacks.
  return {
    mapping: single,
    warning:
      `no subordinate ids for ${name} in ${missing}: running with a single-id map (only root exists inside, without supplementary groups); ` +
      `for full images add "${addLine}" to /etc/subuid and /etc/subgid`,
  };
}

/** The map of project sandboxes and of the builds and pulls of their environments. */
export const PROJECT_USERNS: UsernsRequest = { mode: 'project' };

export function projectIdMapping(): ResolvedIdMapping {
  return resolveIdMapping(undefined, PROJECT_USERNS);
}

/**
 * `inner`'s entries with their outside ids said in `outer`'s inside ids: the map of a user namespace made
 * inside one that has `outer` (a container nested in a devbox network's namespace), so that each id still
 * lands on the same host id. Ranges are split where `outer` splits them; undefined when an id of `inner` is
 * not mapped by `outer`.
 */
export function nestIdMap(outer: readonly IdMapEntry[], inner: readonly IdMapEntry[]): IdMapEntry[] | undefined {
  const nested: IdMapEntry[] = [];
  for (const entry of inner) {
    let done = 0;
    while (done < entry.count) {
      const host = entry.outside + done;
      const o = outer.find((m) => host >= m.outside && host < m.outside + m.count);
      if (!o) return undefined;
      const count = Math.min(entry.count - done, o.outside + o.count - host);
      nested.push({ inside: entry.inside + done, outside: o.inside + (host - o.outside), count });
      done += count;
    }
  }
  return nested;
}

/** `mapping` for a user namespace made inside one with `outer` (nestIdMap of both maps); undefined when it does not fit. */
export function nestIdMapping(outer: IdMapping, mapping: IdMapping): IdMapping | undefined {
  const uidMap = nestIdMap(outer.uidMap, mapping.uidMap);
  const gidMap = nestIdMap(outer.gidMap, mapping.gidMap);
  return uidMap && gidMap ? { ...mapping, uidMap, gidMap } : undefined;
}
