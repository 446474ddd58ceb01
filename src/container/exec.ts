/**
 * `devbox exec CONTAINER CMD…`: a process joined into the running container's namespaces (the helper's
 * --join, as a project sandbox is entered), with the container's environment, user and working directory
 * unless -e/--env-file, -u and -w say otherwise. No daemon and no conmon in between: one helper exec.
 */
import { readFileSync } from 'node:fs';
import { runningContainerCgroup } from '../runtime/cgroups.js';
import { joinSandbox, startInSandbox } from '../runtime/launch.js';
import type { ProcessSpec } from '../runtime/spec.js';
import { readSettings } from '../settings/settings.js';
import { checkMapped } from '../userns/idmap.js';
import { DevboxError, describeError } from '../util/errors.js';
import { appendEvent } from './events.js';
import { findContainer, isRunning } from './lookup.js';
import { containerSecurity } from './records.js';

export interface ExecOptions {
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  /** uid[:gid]; names need the image's /etc/passwd (resolved by the caller). */
  user?: { uid: number; gid: number; groups: number[] };
  workdir?: string;
  env: string[];
  envFiles: string[];
}

/** docker's --env-file: KEY=VALUE lines, KEY alone takes the host's value, # comments and blank lines skipped. */
export function readEnvFile(path: string, hostEnv: NodeJS.ProcessEnv = process.env): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DevboxError(`cannot read the env file ${path}: ${describeError(error)}`, { kind: 'usage' });
  }
  const entries: string[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/^\s+/, '');
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line.trimEnd() : line.slice(0, eq);
    if (!key || /\s/.test(key)) throw new DevboxError(`${path}:${i + 1}: invalid variable name "${key}"`, { kind: 'usage' });
    if (eq >= 0) entries.push(line);
    else if (hostEnv[key] !== undefined) entries.push(`${key}=${hostEnv[key]}`);
  }
  return entries;
}

/** KEY=VALUE lists, later ones overriding. */
function mergeEnv(...lists: string[][]): string[] {
  const merged = new Map<string, string>();
  for (const entry of lists.flat()) merged.set(entry.split('=', 1)[0], entry);
  return [...merged.values()];
}

export async function execInContainer(ref: string, command: string[], options: ExecOptions): Promise<number> {
  const root = readSettings().storageRoot;
  const container = findContainer(root, ref);
  if (!isRunning(container) || container.state.pid === 0) {
    throw new DevboxError(`container ${ref} is not running`, { fix: `start it first: devbox start ${ref}` });
  }
  if (!command.length) throw new DevboxError('devbox exec: no command given', { fix: 'devbox exec CONTAINER CMD [ARG...]', kind: 'usage' });
  const base = container.config.process;
  const flagEnv = options.env.flatMap((entry) => (entry.includes('=') ? [entry] : process.env[entry] !== undefined ? [`${entry}=${process.env[entry]}`] : []));
  const spec: ProcessSpec = {
    args: command,
    env: mergeEnv(base.env, ...options.envFiles.map((f) => readEnvFile(f)), flagEnv, options.tty ? ['TERM=xterm'] : []),
    cwd: options.workdir ?? base.cwd,
    uid: options.user?.uid ?? base.uid,
    gid: options.user?.gid ?? base.gid,
    groups: options.user?.groups ?? base.groups,
    terminal: options.tty,
    rlimits: base.rlimits,
  };
  checkMapped(container.config.idMapping, spec.uid, spec.gid);
  appendEvent(root, { action: 'exec_start', id: container.id, name: container.config.name, attributes: { execID: command.join(' ') } });
  const security = containerSecurity(container.config);
  // Where it has a cgroup of its own, what exec runs is in it too, its limits and `stats` counting it.
  const cgroup = runningContainerCgroup(container.id, container.config.resources);
  if (options.detach) {
    await startInSandbox(container.state.pid, spec, security, { cgroup });
    return 0;
  }
  return joinSandbox(container.state.pid, spec, security, options.interactive ? 'inherit' : 'ignore', 'stdout', cgroup);
}
