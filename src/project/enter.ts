/**
 * `devbox shell` and `devbox run` in a project: make sure the project's live sandbox is up and made from the
 * current inputs (start.ts otherwise), then join it, in the folder the user is in. With the sandbox up and
 * nothing changed this reads the config, hashes its inputs, reads the sandbox's state and entry.json and starts
 * the helper: no store, image or build code is loaded.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HELPER_STATUS } from '../runtime/helper.js';
import { runJoinCommand } from '../runtime/launch.js';
import { isLive, liveJoinCommand, readSandboxState, sandboxDir, type LiveSandboxState } from '../sandbox/live-state.js';
import { dockerConfigPath } from '../settings/proxy.js';
import { readSettings, settingsPath } from '../settings/settings.js';
import { messagesSaid, note, warn } from '../util/warn.js';
import { describeFailure, entryPath, readEntrySettings, type EntrySettings, type HookRecord } from './entry-file.js';
import { processFor, type EnterOptions } from './entry-process.js';
import { lockPath, passedOver } from './discover.js';
import { watchedSources, watchedTree, writeJoinRecord, type Watched } from './join-record.js';
import { loadProject } from './load.js';
import { contextPathsRead, localFeatureFolders, projectInputsHash } from './inputs-hash.js';
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

/**
 * What a join depended on besides the environment and the sandbox's processes (join-record.ts): undefined
 * when the project's inputs are too many to watch, or it has services (their files are not all known here).
 */
async function watchedInputs(project: ProjectConfig, cwd: string, dir: string, helper: string): Promise<Watched[] | undefined> {
  if (project.services) return undefined;
  const files = [...passedOver(cwd, project.source.path), project.source.path, lockPath(project.root), settingsPath(), dockerConfigPath()];
  // devbox's own files: this module as tsc wrote it, the bundles' folder (each build makes it anew), the entry.
  const here = fileURLToPath(import.meta.url);
  files.push(join(dir, 'state.json'), entryPath(dir), helper, process.argv[1], here, join(here, '..', '..', '..', 'bundle'));
  const watched: Watched[] = files.map((path) => ({ path, follow: true }));
  for (const { folder } of localFeatureFolders(project)) {
    const entries = watchedTree(folder);
    if (!entries) return undefined;
    watched.push(...entries);
  }
  const environment = project.environment;
  if (environment.kind === 'dockerfile') {
    const { ignoreFiles } = await import('../builder/context.js');
    for (const path of [environment.dockerfile, ...ignoreFiles(environment.context, environment.dockerfile)]) watched.push({ path, follow: true });
    const entries = watchedSources(environment.context, await contextPathsRead(environment.dockerfile));
    if (!entries) return undefined;
    watched.push(...entries);
  }
  return watched;
}

export async function enterProject(options: EnterOptions, cwd = process.cwd()): Promise<number> {
  const saidBefore = messagesSaid();
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
  const shutdownAction = entered.entry?.shutdownAction ?? 'none';
  // Only an entry that said nothing and leaves nothing for later is replayed by the launcher.
  const replayable =
    options.commandLine && options.interactive && !attach.length && !entered.background.length && !entered.entry?.failed && shutdownAction === 'none';
  const join = async (live: LiveSandboxState, entry: EntrySettings | undefined) => {
    const command = liveJoinCommand(live, processFor(project, live, entry, options, existsSync(cwd) ? cwd : project.root));
    const watched = replayable && messagesSaid() === saidBefore ? await watchedInputs(project, cwd, dir, command[0]) : undefined;
    if (watched) {
      const processes = [
        { pid: live.pid, start: live.pidStart },
        { pid: live.outerPid, start: live.outerStart },
      ];
      writeJoinRecord({ cwd, commandLine: options.commandLine ?? [], stdinIsTerminal: process.stdin.isTTY === true, watched, live: processes, command });
    }
    // The very command recorded: what the launcher replays is what ran here.
    return runJoinCommand(command, options.interactive ? 'inherit' : 'ignore');
  };
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
