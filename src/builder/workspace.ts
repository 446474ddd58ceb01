/**
 * Where a build step works: <store>/build/<id>/ holds the RUN sandbox's upper, work and mount directories,
 * a COPY's staging directory and the layer tar made from them, until the layer is in the store. Files in
 * it belong to subordinate ids, so it is removed as root of the user namespace. A `pid` file names the
 * devbox process working in it; a later build removes workspaces whose process is gone.
 */
import { randomHex } from '../util/random.js';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IdMapping } from '../userns/idmap.js';
import { isAlive } from '../util/processes.js';

export interface StepWorkspace {
  dir: string;
  /** The layer tar the step's changes are written to. */
  tar: string;
  path(name: string): string;
}

function workspacesDir(root: string): string {
  return join(root, 'build');
}

export function createWorkspace(root: string): StepWorkspace {
  const dir = join(workspacesDir(root), randomHex(16));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'pid'), String(process.pid));
  return { dir, tar: join(dir, 'layer.tar'), path: (name) => join(dir, name) };
}

async function removeAsNamespaceRoot(mapping: IdMapping, paths: string[]): Promise<void> {
  const { removeAsNamespaceRoot: remove } = await import('../storage/remove.js');
  await remove(mapping, paths);
}

export async function removeWorkspace(mapping: IdMapping, workspace: StepWorkspace): Promise<void> {
  await removeAsNamespaceRoot(mapping, [workspace.dir]);
}

/** Removes workspaces left by builds that died (kill -9, power loss). */
export async function removeStaleWorkspaces(root: string, mapping: IdMapping): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(workspacesDir(root));
  } catch {
    return;
  }
  const stale = names.filter((name) => {
    const dir = join(workspacesDir(root), name);
    try {
      return !isAlive(Number(readFileSync(join(dir, 'pid'), 'utf8')));
    } catch {
      // no pid file: one being created right now has it within moments
      try {
        return Date.now() - statSync(dir).mtimeMs > 60_000;
      } catch {
        return false;
      }
    }
  });
  if (stale.length)
    await removeAsNamespaceRoot(
      mapping,
      stale.map((name) => join(workspacesDir(root), name)),
    );
}
