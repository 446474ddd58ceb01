/**
 * `devbox shell` and `devbox run` in a project: make sure the project's live sandbox is up and made from the
 * current inputs (start.ts otherwise), then join it, in the folder the user is in. With the sandbox up and
 * nothing changed this reads the config, hashes its inputs, reads the sandbox's state and entry.json and starts
 * the helper: no store, image or build code is loaded.
 */
import { existsSync } from 'node:fs';
import { HELPER_STATUS } from '../runtime/helper.js';
import { isLive, joinLiveSandbox, readSandboxState, sandboxDir, type LiveSandboxState } from '../sandbox/live-state.js';
import { readSettings } from '../settings/settings.js';
import { note, warn } from '../util/warn.js';
import { describeFailure, readEntrySettings, type EntrySettings, type HookRecord } from './entry-file.js';
import { processFor, type EnterOptions } from './entry-process.js';
import { loadProject } from './load.js';
import { projectInputsHash } from './inputs-hash.js';
import { beginSession } from './sessions.js';
import type { ProjectConfig } from './project-config.js';
import type { Settings } from '../settings/settings.js';

export type { EnterOptions };

interface Entered {
  state: LiveSandboxState;
  entry?: EntrySettings;
  background: HookRecord[];
  /** A lifecycle command failed during this entry's start (and was said). */
  failed?: unknown;
}

async function start(project: ProjectConfig, settings: Settings, options: EnterOptions, dir: string): Promise<Entered> {
  const { startProject } = await import('./start.js');
  return startProject(project, settings, options, dir);
}

/** Lifecycle commands left for after the shell starts (after waitFor, postAttachCommand): a detached worker runs them. */
async function inBackground(project: ProjectConfig, dir: string, entered: Entered, hooks: HookRecord[]): Promise<void> {
  if (!hooks.length || !entered.entry) return;
  const { runHooksInBackground } = await import('./lifecycle.js');
  const log = await runHooksInBackground(project, dir, entered.state, entered.entry, hooks, 'lifecycle.log');
  const names = [...new Set(hooks.map((h) => h.hook))];
  note(`${names.join(', ')} ${names.length > 1 ? 'run' : 'runs'} in the background; output: ${log}`);
}

export async function enterProject(options: EnterOptions, cwd = process.cwd()): Promise<number> {
  const project = loadProject(cwd);
  const settings = readSettings();
  const dir = sandboxDir(settings.storageRoot, project.root);
  const inputsHash = await projectInputsHash(project);
  const current = readSandboxState(dir);
  let entered: Entered;
  if (!current || !isLive(current) || current.inputsHash !== inputsHash) entered = await start(project, settings, options, dir);
  else entered = { state: current, entry: readEntrySettings(dir, current), background: [] };
  // The sandbox is not what it should be: say so at every entry until it is made again.
  if (entered.entry?.failed && !entered.failed) {
    warn(`the setup of this sandbox is incomplete: ${describeFailure(entered.entry.failed)} (devbox rm, then enter, to run it again)`);
  }
  const attach = options.command === undefined && !entered.entry?.failed ? (entered.entry?.postAttach ?? []) : [];
  await inBackground(project, dir, entered, [...entered.background, ...attach]);
  const join = (live: LiveSandboxState, entry: EntrySettings | undefined) =>
    joinLiveSandbox(live, processFor(project, live, entry, options, existsSync(cwd) ? cwd : project.root), options.interactive ? 'inherit' : 'ignore');
  const shutdownAction = entered.entry?.shutdownAction ?? 'none';
  const endSession = shutdownAction !== 'none' ? beginSession(dir) : undefined;
  let status = await join(entered.state, entered.entry);
  // The sandbox ended between the check and the join (devbox stop, or its processes were killed): start it again.
  if (status === HELPER_STATUS.setupFailed && !isLive(entered.state)) {
    entered = await start(project, settings, options, dir);
    status = await join(entered.state, entered.entry);
  }
  if (endSession?.()) {
    const { stopLiveSandbox } = await import('../sandbox/live-sandbox.js');
    await stopLiveSandbox(entered.state);
    if (shutdownAction === 'stopCompose') {
      const { servicesStop } = await import('../compose/services.js');
      await servicesStop({ project: project.root });
    }
  }
  return status;
}
