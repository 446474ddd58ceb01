/**
 * Dev Containers lifecycle commands (containers.dev/implementors/json_reference, "Lifecycle scripts"):
 * initializeCommand on the host before each start; onCreate/updateContent/postCreate once per fresh sandbox,
 * postStart at each start, postAttach at each `devbox shell`, Features' first in install order, then the
 * config's. The string form runs in /bin/sh -c, the array form directly, the object form's commands in
 * parallel. The first failure stops the commands after it, is said with its name and status, and is
 * recorded so later entries say the setup is incomplete instead of carrying on as if it were not.
 * Commands after `waitFor` (and postAttach) run in a detached worker while the user's shell starts, as
 * Dev Containers runs them while the editor connects; their output goes to a log in the sandbox's folder.
 */
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureInSandbox, startInSandbox } from '../runtime/launch.js';
import type { SecuritySpec } from '../runtime/security.js';
import type { ProcessSpec } from '../runtime/spec.js';
import { joinLiveSandbox, type LiveSandboxState, sandboxSecurity } from '../sandbox/live-state.js';
import { DevboxError } from '../util/errors.js';
import { execForeground, spawnBeside } from '../util/exec.js';
import { note, warn } from '../util/warn.js';
import { describeFailure, recordFailure, type EntrySettings, type HookFailure, type HookRecord } from './entry-file.js';
import { processFor, stepArgs } from './entry-process.js';
import type { UserEnvProbe } from './devcontainer/metadata.js';
import type { LifecycleCommand, LifecycleStep, ProjectConfig } from './project-config.js';

const WORKER = fileURLToPath(new URL('./lifecycle-worker.js', import.meta.url));

/** The commands of one lifecycle command: one, or the object form's named ones. */
function commandSteps(command: LifecycleCommand): { name?: string; step: LifecycleStep; argv: string[] }[] {
  const entries: [string | undefined, LifecycleStep][] = command.kind === 'parallel' ? Object.entries(command.steps) : [[undefined, command]];
  return entries.map(([name, step]) => ({ ...(name === undefined ? {} : { name }), step, argv: stepArgs(step) }));
}

/** A command as the config writes it: the string, or the array's words. */
function asWritten({ name, step }: { name?: string; step: LifecycleStep }): string {
  return `${name ? `${name}: ` : ''}${step.kind === 'shell' ? step.command : step.argv.join(' ')}`;
}

/**
 * Runs the hooks in order, the object form's commands at the same time; stops at the first that fails (for
 * the object form, once all its commands have ended) and returns what failed.
 */
export async function runHooks(
  hooks: readonly HookRecord[],
  run: (argv: string[]) => Promise<number>,
  say: (line: string) => void,
): Promise<HookFailure | undefined> {
  for (const { hook, origin, command } of hooks) {
    const steps = commandSteps(command);
    say(`${hook} from ${origin}: ${steps.map(asWritten).join('; ')}`);
    const statuses = await Promise.all(steps.map((step) => run(step.argv)));
    const index = statuses.findIndex((status) => status !== 0);
    if (index >= 0) return { hook, origin, ...(steps[index].name ? { name: steps[index].name } : {}), status: statuses[index] };
  }
  return undefined;
}

/** initializeCommand, on the host in the project folder, before anything else; a failure stops the start. */
export async function runInitializeCommand(project: ProjectConfig): Promise<void> {
  if (!project.initializeCommand) return;
  const failed = await runHooks(
    [{ hook: 'initializeCommand', origin: project.source.format, command: project.initializeCommand }],
    // Output on stderr: stdout is the user's command's (devbox run CMD | …).
    (argv) => execForeground(argv[0], argv.slice(1), ['ignore', 2, 'inherit'], { cwd: project.root }),
    (line) => note(line),
  );
  if (failed) {
    throw new DevboxError(`${project.source.path}: ${describeFailure(failed)}; the sandbox was not started`, {
      fix: 'fix the command (it runs on this machine, in the project folder)',
    });
  }
}

/** The process a lifecycle command runs as: the sandbox's user, in the workspace folder, with the entry's environment. */
function hookProcess(project: ProjectConfig, state: LiveSandboxState, entry: EntrySettings): Omit<ProcessSpec, 'args'> {
  const { args: _args, ...spec } = processFor(project, state, entry, { command: [], tty: false, interactive: false }, project.workspaceFolder);
  return spec;
}

/** Runs hooks in the sandbox with devbox's stdout and stderr; a failure is said, recorded and returned. */
export async function runHooksInSandbox(
  project: ProjectConfig,
  dir: string,
  state: LiveSandboxState,
  entry: EntrySettings,
  hooks: readonly HookRecord[],
): Promise<HookFailure | undefined> {
  const spec = hookProcess(project, state, entry);
  const failed = await runHooks(
    hooks,
    (argv) => joinLiveSandbox(state, { ...spec, args: argv }, 'ignore', 'stderr'),
    (line) => note(line),
  );
  if (failed) {
    recordFailure(dir, state, failed);
    warn(`${describeFailure(failed)}; the lifecycle commands after it were skipped (they run again in a new sandbox: devbox rm, then enter)`);
  }
  return failed;
}

/** What the background worker is given (a JSON file). */
export interface WorkerSpec {
  dir: string;
  pid: number;
  pidStart: string;
  hooks: HookRecord[];
  process: Omit<ProcessSpec, 'args'>;
  security: SecuritySpec;
}

/** Starts hooks in a detached worker whose output goes to LOG in the sandbox's folder; returns the log's path. */
export async function runHooksInBackground(
  project: ProjectConfig,
  dir: string,
  state: LiveSandboxState,
  entry: EntrySettings,
  hooks: readonly HookRecord[],
  log: string,
): Promise<string> {
  const spec: WorkerSpec = {
    dir,
    pid: state.pid,
    pidStart: state.pidStart,
    hooks: [...hooks],
    process: hookProcess(project, state, entry),
    security: sandboxSecurity(state),
  };
  const specPath = join(dir, `${log}.json`);
  writeFileSync(specPath, JSON.stringify(spec));
  const logPath = join(dir, log);
  const fd = openSync(logPath, 'w', 0o600);
  try {
    await spawnBeside(process.execPath, [WORKER, specPath], { cwd: dir, stdio: ['ignore', fd, fd], detached: true });
  } finally {
    closeSync(fd);
  }
  return logPath;
}

/** The process of the container command: the container user (root by default), in /, detached, output to a log. */
export async function startContainerCommand(dir: string, state: LiveSandboxState, spec: ProcessSpec): Promise<void> {
  const fd = openSync(join(dir, 'container.log'), 'a', 0o600);
  try {
    await startInSandbox(state.pid, spec, sandboxSecurity(state), { cwd: dir, log: fd });
  } finally {
    closeSync(fd);
  }
}

const PROBE_FLAGS: Record<Exclude<UserEnvProbe, 'none'>, string> = {
  loginInteractiveShell: '-lic',
  loginShell: '-lc',
  interactiveShell: '-ic',
};
/** Variables every shell sets for itself, not the user's environment. */
const SHELL_OWN = new Set(['PWD', 'OLDPWD', 'SHLVL', '_']);
const PROBE_TIMEOUT_MS = 10_000;

/**
 * userEnvProbe: the variables the user's shell start-up files set (nvm's PATH in ~/.bashrc, /etc/profile.d
 * scripts), read once per start from the shell the spec names, so `devbox run` and lifecycle commands see what
 * an interactive shell would. Only what differs from the environment the shell was given is kept.
 */
export async function probeUserEnvironment(
  project: ProjectConfig,
  state: LiveSandboxState,
  entry: EntrySettings,
  probe: UserEnvProbe,
): Promise<Record<string, string>> {
  if (probe === 'none') return {};
  const mark = `devbox-env-${process.pid}-${Date.now()}`;
  const base = processFor(project, state, entry, { command: [], tty: false, interactive: false }, project.workspaceFolder);
  const spec = { ...base, args: [state.user.shell, PROBE_FLAGS[probe], `printf ${mark}; cat /proc/self/environ; printf ${mark}`] };
  const result = await captureInSandbox(state.pid, spec, sandboxSecurity(state), PROBE_TIMEOUT_MS);
  const match = new RegExp(`${mark}([^]*)${mark}`).exec(result.stdout);
  if (!match) {
    warn(
      `userEnvProbe: ${state.user.shell} ${PROBE_FLAGS[probe]} gave no environment${result.timedOut ? ' within 10 s (does a start-up file wait for input?)' : ''}; using the environment without it`,
    );
    return {};
  }
  const given = new Map(base.env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
  const probed: Record<string, string> = {};
  for (const item of match[1].split('\0')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const [key, value] = [item.slice(0, eq), item.slice(eq + 1)];
    if (!SHELL_OWN.has(key) && given.get(key) !== value) probed[key] = value;
  }
  return probed;
}
