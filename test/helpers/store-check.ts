/**
 * "The store checks clean": every image record has its blobs, every blob is what its name says, every
 * unpacked layer has its record and every record its layer, build cache entries have their layers, and
 * nothing is left of work in progress (temp files, half-unpacked layers, build workspaces of commands that
 * are gone, locks of dead holders) or mounted from the store. Returns the problems found, one line each.
 * Meant to become `devbox system check`; until then the crash, concurrency and malformed-input suites use it.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

const HEX = /^[a-f0-9]{64}$/;

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function json<T>(path: string, problems: string[]): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    problems.push(`${path}: unreadable (${(error as Error).message})`);
    return undefined;
  }
}

function processAlive(pid: number, start?: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] !== 'Z' && (start === undefined || fields[19] === start);
  } catch {
    return false;
  }
}

function checkBlobs(root: string, problems: string[]): Set<string> {
  const dir = join(root, 'blobs', 'sha256');
  const digests = new Set<string>();
  for (const name of list(dir)) {
    const actual = createHash('sha256')
      .update(readFileSync(join(dir, name)))
      .digest('hex');
    if (actual !== name) problems.push(`blob ${name}: its content is sha256:${actual}`);
    digests.add(`sha256:${name}`);
  }
  return digests;
}

function checkImages(root: string, blobs: Set<string>, problems: string[]): void {
  const path = join(root, 'images.json');
  if (!existsSync(path)) return;
  const index = json<{ images: Record<string, { manifest: string }> }>(path, problems);
  for (const [id, record] of Object.entries(index?.images ?? {})) {
    const needed = [id, record.manifest];
    if (blobs.has(record.manifest)) {
      const manifest = json<{ layers: { digest: string }[] }>(join(root, 'blobs', 'sha256', record.manifest.slice(7)), problems);
      needed.push(...(manifest?.layers ?? []).map((l) => l.digest));
    }
    for (const digest of needed) if (!blobs.has(digest)) problems.push(`image ${id.slice(7, 19)}: blob ${digest} is missing`);
  }
  for (const name of list(join(root, 'build-cache'))) {
    const entry = json<{ layers: { digest: string }[] }>(join(root, 'build-cache', name), problems);
    for (const layer of entry?.layers ?? []) if (!blobs.has(layer.digest)) problems.push(`build cache ${name}: blob ${layer.digest} is missing`);
  }
}

function checkLayers(root: string, problems: string[]): void {
  for (const map of list(join(root, 'layers'))) {
    const dir = join(root, 'layers', map);
    const names = new Set(list(dir));
    for (const name of names) {
      if (name.endsWith('.json')) {
        if (!names.has(name.slice(0, -5))) problems.push(`layer record ${map}/${name} has no layer`);
      } else if (!HEX.test(name)) problems.push(`layers/${map}/${name}: left by an unpack that did not finish`);
      else if (!names.has(`${name}.json`)) problems.push(`layer ${map}/${name} has no record`);
    }
  }
}

function checkLeftovers(root: string, problems: string[]): void {
  for (const name of list(join(root, 'tmp'))) problems.push(`tmp/${name}: a temp file left behind`);
  for (const name of list(join(root, 'build'))) {
    const pid = Number(existsSync(join(root, 'build', name, 'pid')) ? readFileSync(join(root, 'build', name, 'pid'), 'utf8') : 0);
    if (!pid || !processAlive(pid)) problems.push(`build/${name}: the workspace of a build that is gone`);
  }
  const lockFiles = [root, join(root, 'sandboxes')].flatMap((dir) =>
    list(dir)
      .filter((n) => n.endsWith('.lock') || n.endsWith('.takeover'))
      .map((n) => join(dir, n)),
  );
  for (const lock of lockFiles) {
    let holder: string;
    try {
      if (!lstatSync(lock).isSymbolicLink()) throw new Error('not a symlink');
      holder = readlinkSync(lock);
    } catch {
      problems.push(`${lock}: left by a lock takeover, or not a lock devbox makes`);
      continue;
    }
    const [, , pid, start] = holder.split(' ');
    if (!processAlive(Number(pid), start)) problems.push(`${lock}: held by pid ${pid}, which is gone`);
  }
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (line.split(' ')[4]?.startsWith(root)) problems.push(`mounted: ${line}`);
  }
}

/** Problems in the store at `root`; [] when it checks clean. */
export function checkStore(root: string): string[] {
  const problems: string[] = [];
  const blobs = checkBlobs(root, problems);
  checkImages(root, blobs, problems);
  checkLayers(root, problems);
  checkLeftovers(root, problems);
  return problems;
}
