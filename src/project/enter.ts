/**
 * `devbox shell` and `devbox run` in a project: make sure the project's live sandbox is up and made from the
 * current inputs, then join it as the invoking user, in the folder the user is in. With the sandbox up and
 * nothing changed this reads the config, hashes its inputs, reads the sandbox's state and starts the helper:
 * no store, image or build code is loaded.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { ProcessSpec } from '../runtime/spec.js';
import { HELPER_STATUS } from '../runtime/helper.js';
import { isLive, joinLiveSandbox, readSandboxState, sandboxDir, type LiveSandboxState } from '../sandbox/live-state.js';
import { readSettings, type Settings } from '../settings/settings.js';
import { loadProject } from './load.js';
import { projectInputsHash } from './inputs-hash.js';
import { sandboxEnvironment, type LifecycleCommand, type LifecycleStep, type ProjectConfig } from './project-config.js';
import { warn } from '../util/warn.js';

export interface EnterOptions {
  /** The command to run; undefined starts the project's shell. */
  command?: string[];
  /** Give the process a terminal (a shell on a terminal, or run -t). */
  tty: boolean;
  /** Pass devbox's stdin on. */
  interactive: boolean;
  /** `root` for the sandbox's root (full privileges inside the user namespace, none outside). */
  user?: 'root';
}

/** Host variables a terminal session carries into the sandbox, as ssh and `podman exec` users expect. */
const CARRIED = /^(TERM|COLORTERM|LANG|LANGUAGE|LC_[A-Z]+|TZ)$/;

function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

function envRecord(list: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const entry of list) {
    const eq = entry.indexOf('=');
    if (eq > 0) record[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return record;
}

/** The folder the process starts in: where the user is, when that is inside the project. */
function workingFolder(project: ProjectConfig, cwd: string): string {
  const inside = relative(project.root, cwd);
  return inside.startsWith('..') || inside.startsWith('/') ? project.workspaceFolder : cwd;
}

function shellArgs(project: ProjectConfig, state: LiveSandboxState): string[] {
  if (project.shell) return project.shell;
  // bash reads the prompt prefix from devbox's rc file, which sources the usual ones first.
  return state.user.shell.endsWith('/bash') ? [state.user.shell, '--rcfile', '/etc/devbox/bashrc', '-i'] : [state.user.shell, '-i'];
}

export function processFor(project: ProjectConfig, state: LiveSandboxState, options: EnterOptions, cwd: string): ProcessSpec {
  const root = options.user === 'root';
  const user = root ? { name: 'root', uid: 0, gid: 0, home: '/root' } : state.user;
  const carried = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => CARRIED.test(k) && v !== undefined)) as Record<string, string>;
  const env: Record<string, string> = {
    ...sandboxEnvironment(project, envRecord(state.imageEnv)),
    ...carried,
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: state.user.shell,
    DEVBOX_PROJECT: project.name,
    DEVBOX_PROMPT: project.prompt,
  };
  if (options.command === undefined && project.prompt && !state.user.shell.endsWith('/bash')) env.PS1 = `${project.prompt}$ `;
  return {
    args: options.command ?? shellArgs(project, state),
    env: envList(env),
    cwd: workingFolder(project, cwd),
    uid: user.uid,
    gid: user.gid,
    groups: [],
    terminal: options.tty,
  };
}

function stepArgs(step: LifecycleStep): string[] {
  return step.kind === 'shell' ? ['/bin/sh', '-c', step.command] : step.argv;
}

/** The project's postCreate commands, in order, as the user in the project folder; a failure is a warning. */
async function runPostCreate(project: ProjectConfig, state: LiveSandboxState, commands: readonly LifecycleCommand[]): Promise<void> {
  for (const command of commands) {
    const steps = command.kind === 'parallel' ? Object.values(command.steps) : [command];
    const statuses = await Promise.all(
      steps.map((step) => {
        process.stderr.write(`devbox: postCreate: ${stepArgs(step).join(' ')}\n`);
        return joinLiveSandbox(
          state,
          processFor(project, state, { command: stepArgs(step), tty: false, interactive: false }, project.workspaceFolder),
          'ignore',
        );
      }),
    );
    const failed = statuses.find((s) => s !== 0);
    if (failed !== undefined) {
      // As Dev Containers: the sandbox stays usable, the user sees why their setup is incomplete.
      warn(`a postCreate command exited with status ${failed}; the remaining ones were skipped (they run again after "devbox rm")`);
      return;
    }
  }
}

/** Starts (or restarts, when its inputs changed) the project's sandbox; loaded only when it is not up. */
async function startProjectSandbox(project: ProjectConfig, settings: Settings): Promise<LiveSandboxState> {
  const [{ ensureLiveSandbox }, { projectImage, projectMounts }, { projectNetwork }, { withFileLock }, { ensurePrivateStoreRoot }] = await Promise.all([
    import('../sandbox/live-sandbox.js'),
    import('./environment.js'),
    import('./network.js'),
    import('../util/file-lock.js'),
    import('../image/store-root.js'),
  ]);
  for (const warning of project.warnings) warn(`${warning}`);
  const network = projectNetwork(project, settings);
  ensurePrivateStoreRoot(settings.storageRoot);
  const dir = sandboxDir(settings.storageRoot, project.root);
  mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
  // One entry at a time pins, builds and starts: entries at the same moment would each build the image, and
  // hash a build context in which another one is writing devbox.lock. The later ones find the sandbox up.
  // The lock is beside the sandbox's directory, which a start refused before it began never creates.
  const { state, fresh } = await withFileLock(`${dir}.start`, `the sandbox of ${project.name}`, async () => {
    // Pinning a base image for the first time writes devbox.lock, one of the inputs: the hash changes with it.
    const { store, image, inputsHash } = await projectImage(project, settings);
    return ensureLiveSandbox(store, {
      projectRoot: project.root,
      name: project.name,
      image,
      inputsHash,
      ...projectMounts(project, store.root),
      network: network.options,
      networkFixes: network.fixes,
      home: project.home,
      shell: project.shell?.[0],
      storage: settings.storage,
    });
  });
  if (fresh && project.postCreate.length) await runPostCreate(project, state, project.postCreate);
  return state;
}

export async function enterProject(options: EnterOptions, cwd = process.cwd()): Promise<number> {
  const project = loadProject(cwd);
  const settings = readSettings();
  const inputsHash = await projectInputsHash(project);
  let state = readSandboxState(sandboxDir(settings.storageRoot, project.root));
  if (!state || !isLive(state) || state.inputsHash !== inputsHash) state = await startProjectSandbox(project, settings);
  const join = (live: LiveSandboxState) =>
    joinLiveSandbox(live, processFor(project, live, options, existsSync(cwd) ? cwd : project.root), options.interactive ? 'inherit' : 'ignore');
  const status = await join(state);
  // The sandbox ended between the check and the join (devbox stop, or its processes were killed): start it again.
  if (status === HELPER_STATUS.setupFailed && !isLive(state)) return join(await startProjectSandbox(project, settings));
  return status;
}
