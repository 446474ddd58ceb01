/**
 * `devbox stop` and `devbox rm` of project sandboxes, named by project name, folder or sandbox id; the project's
 * services (compose/services.ts) are stopped and removed with them.
 */
import { namesContainer } from '../container/lookup.js';
import { removeSandboxDir, stopLiveSandbox } from '../sandbox/live-sandbox.js';
import { listSandboxes, sandboxesNamedBy, type SandboxSummary } from '../sandbox/live-state.js';
import { readSettings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';
import { loadProject } from './load.js';

/**
 * The sandboxes the refs name (by project folder, name or id prefix: sandboxesNamedBy); no refs:
 * the current project's. undefined for a ref that names none, and for one that is a container's id or name: a
 * container comes first, as its own name is what the user typed.
 */
export function findSandboxes(refs: readonly string[]): { ref: string; sandbox?: SandboxSummary }[] {
  const root = readSettings().storageRoot;
  const sandboxes = listSandboxes(root);
  if (!refs.length) {
    const root = loadProject().root;
    const sandbox = sandboxes.find((s) => s.state.project === root);
    if (!sandbox) throw new DevboxError(`the project in ${root} has no sandbox`, { fix: 'devbox shell starts one' });
    return [{ ref: root, sandbox }];
  }
  return refs.map((ref) => {
    if (namesContainer(root, ref)) return { ref };
    const matches = sandboxesNamedBy(sandboxes, ref);
    if (matches.length > 1)
      throw new DevboxError(`"${ref}" names ${matches.length} sandboxes`, { fix: 'name it by its project folder or its id (devbox ps -a)' });
    return { ref, sandbox: matches[0] };
  });
}

/** Stops the sandboxes findSandboxes found (and their projects' services). */
export async function stopProjectSandboxes(sandboxes: readonly SandboxSummary[]): Promise<string[]> {
  for (const sandbox of sandboxes) {
    if (sandbox.running) await stopLiveSandbox(sandbox.state);
    const { servicesStop } = await import('../compose/services.js');
    await servicesStop({ project: sandbox.state.project });
  }
  return sandboxes.map((s) => s.state.name);
}

/** Discards sandboxes' writable layers and homes; a running one only with force (it is stopped first). */
export async function removeProjectSandboxes(sandboxes: readonly SandboxSummary[], force: boolean): Promise<string[]> {
  const running = sandboxes.find((s) => s.running);
  if (running && !force) throw new DevboxError(`the sandbox of ${running.state.name} is running`, { fix: 'devbox stop it first, or use --force' });
  for (const sandbox of sandboxes) {
    if (sandbox.running) await stopLiveSandbox(sandbox.state);
    await removeSandboxDir(sandbox.dir);
    const { servicesDown } = await import('../compose/services.js');
    await servicesDown({ project: sandbox.state.project });
  }
  return sandboxes.map((s) => s.state.name);
}
