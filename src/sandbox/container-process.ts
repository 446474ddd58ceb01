/**
 * The process a container runs, from the image config and `run` options, with Docker's rules:
 * --entrypoint replaces ENTRYPOINT and drops the image's CMD; arguments after IMAGE replace CMD;
 * -e KEY=VALUE overrides image ENV, -e KEY copies the host's value; PATH and HOME get Docker's defaults.
 */
import { posix } from 'node:path';
import { DEFAULT_PATH } from '../image/oci.js';
import { DevboxError } from '../util/errors.js';

export { DEFAULT_PATH };

export interface ImageProcessConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
}

export interface ProcessRequest {
  command: string[];
  entrypoint?: string;
  env: string[];
  workdir?: string;
  tty: boolean;
  hostname: string;
}

export function containerArgs(config: ImageProcessConfig, request: ProcessRequest): string[] {
  const entrypoint = request.entrypoint !== undefined ? (request.entrypoint === '' ? [] : [request.entrypoint]) : (config.Entrypoint ?? []);
  const cmd = request.command.length ? request.command : request.entrypoint !== undefined ? [] : (config.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (!args.length) {
    throw new DevboxError('no command specified: the image has no CMD or ENTRYPOINT', { fix: 'give one after the image name' });
  }
  return args;
}

/** KEY=VALUE list, later entries overriding earlier ones, order of first appearance kept. */
function mergeEnv(...lists: string[][]): string[] {
  const merged = new Map<string, string>();
  for (const list of lists) {
    for (const entry of list) {
      const eq = entry.indexOf('=');
      merged.set(eq < 0 ? entry : entry.slice(0, eq), entry);
    }
  }
  return [...merged.values()];
}

/** What can be checked before the image is at hand: `-e` entries, and `-w` when given. */
export function checkProcessRequest(request: ProcessRequest): void {
  const invalid = request.env.find((entry) => entry.startsWith('=') || entry === '');
  if (invalid !== undefined) throw new DevboxError(`invalid environment variable "${invalid}"`, { fix: 'use -e KEY=VALUE', kind: 'usage' });
  if (request.workdir !== undefined) containerWorkdir({}, request);
}

export function containerEnv(config: ImageProcessConfig, request: ProcessRequest, home: string, hostEnv: NodeJS.ProcessEnv): string[] {
  checkProcessRequest(request);
  const fromFlags: string[] = [];
  for (const entry of request.env) {
    if (entry.includes('=')) fromFlags.push(entry);
    else if (hostEnv[entry] !== undefined) fromFlags.push(`${entry}=${hostEnv[entry]}`);
  }
  const defaults = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${request.hostname}`, ...(request.tty ? ['TERM=xterm'] : [])];
  const env = mergeEnv(defaults, config.Env ?? [], fromFlags);
  return env.some((e) => e.startsWith('HOME=')) ? env : [...env, `HOME=${home}`];
}

export function containerWorkdir(config: ImageProcessConfig, request: ProcessRequest): string {
  const dir = request.workdir ?? (config.WorkingDir || '/');
  if (!posix.isAbsolute(dir)) {
    throw new DevboxError(`the working directory "${dir}" is invalid: it needs to be an absolute path`, { kind: 'usage' });
  }
  return posix.normalize(dir);
}
