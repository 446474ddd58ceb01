/**
 * The process an entry starts in a project's sandbox: who (the sandbox's user, or its root), where (the
 * folder the user is in when it is inside the project), with which environment: the image's, the host
 * terminal's own variables, then the project's (entry.json). On the hot path of `devbox shell`.
 */
import { relative } from 'node:path';
import type { ProcessSpec } from '../runtime/spec.js';
import { proxyEnvironment } from '../settings/proxy.js';
import type { LiveSandboxState } from '../sandbox/live-state.js';
import type { EntrySettings } from './entry-file.js';
import { resolveContainerEnv, type LifecycleStep, type ProjectConfig } from './project-config.js';

export interface EnterOptions {
  /** The command to run; undefined starts the project's shell. */
  command?: string[];
  /** Give the process a terminal (a shell on a terminal, or run -t). */
  tty: boolean;
  /** Pass devbox's stdin on. */
  interactive: boolean;
  /** `root` for the sandbox's root (full privileges inside the user namespace, none outside). */
  user?: 'root';
  /** devbox's arguments when they came from its command line: a join is recorded for the launcher under them. */
  commandLine?: readonly string[];
}

/** Host variables a terminal session carries into the sandbox, as ssh and `podman exec` users expect. */
const CARRIED = /^(TERM|COLORTERM|LANG|LANGUAGE|LC_[A-Z]+|TZ)$/;

export function envRecord(list: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const entry of list) {
    const eq = entry.indexOf('=');
    if (eq > 0) record[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return record;
}

/**
 * The project's variables over the image's Env: containerEnv, the variables the user's shell start-up files
 * set (userEnvProbe), then remoteEnv, each ${containerEnv:VAR} answered from the sandbox's own environment
 * (as `"PATH": "${containerEnv:PATH}:/opt/bin"` expects). null unsets.
 */
export function entryEnvironment(
  imageEnv: Readonly<Record<string, string>>,
  project: { containerEnv: Readonly<Record<string, string>>; remoteEnv: Readonly<Record<string, string | null>> },
  probed: Readonly<Record<string, string>> = {},
): Record<string, string | null> {
  const env: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(project.containerEnv)) env[key] = resolveContainerEnv(value, imageEnv);
  Object.assign(env, probed);
  const seen = { ...imageEnv, ...(env as Record<string, string>) };
  for (const [key, value] of Object.entries(project.remoteEnv)) env[key] = value === null ? null : resolveContainerEnv(value, seen);
  return env;
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

export function processFor(project: ProjectConfig, state: LiveSandboxState, entry: EntrySettings | undefined, options: EnterOptions, cwd: string): ProcessSpec {
  const root = options.user === 'root';
  // The sandbox's user has no groups only under the single-id map, where setgroups is denied: root has none either.
  const user = root ? { name: 'root', uid: 0, gid: 0, home: '/root', groups: state.user.groups?.length ? [0] : [] } : state.user;
  const image = envRecord(state.imageEnv);
  const own = entry?.env ?? entryEnvironment(image, { containerEnv: project.metadata.containerEnv ?? {}, remoteEnv: project.metadata.remoteEnv ?? {} });
  // Behind a proxy, the sandbox reaches the network through it as the host does (podman's --http-proxy=true).
  const env: Record<string, string> = { ...image, ...proxyEnvironment() };
  for (const [key, value] of Object.entries(process.env)) if (CARRIED.test(key) && value !== undefined) env[key] = value;
  for (const [key, value] of Object.entries(own)) {
    if (value === null) delete env[key];
    else env[key] = value;
  }
  Object.assign(env, {
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: state.user.shell,
    DEVBOX_PROJECT: project.name,
    DEVBOX_PROMPT: project.prompt,
  });
  if (options.command === undefined && project.prompt && !state.user.shell.endsWith('/bash')) env.PS1 = `${project.prompt}$ `;
  return {
    args: options.command ?? shellArgs(project, state),
    env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    cwd: workingFolder(project, cwd),
    uid: user.uid,
    gid: user.gid,
    groups: user.groups ?? [],
    terminal: options.tty,
  };
}

/** A lifecycle step as argv: a string runs in /bin/sh -c, an array directly (the spec's forms). */
export function stepArgs(step: LifecycleStep): string[] {
  return step.kind === 'shell' ? ['/bin/sh', '-c', step.command] : step.argv;
}
