/**
 * A live sandbox's state.json and whether the sandbox is up: all `devbox shell` reads before joining one,
 * kept apart from the lifecycle (live-sandbox.ts) so joining loads no store, image or storage code.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { joinArgs, type ProcessSpec } from '../runtime/spec.js';
import { helperPath } from '../userns/helper.js';
import { execForeground } from '../util/exec.js';
import { startTimeOf } from '../util/processes.js';
import type { SandboxUser } from './identity.js';

/** A process by pid and start time (/proc/PID/stat), so a recycled pid is never taken for it. */
export interface ProcessRecord {
  pid: number;
  start: string;
}

export interface LiveSandboxState {
  project: string;
  name: string;
  image: string;
  inputsHash: string;
  hostname: string;
  user: SandboxUser;
  /** Host pid of the sandbox's pid 1 (what is joined) and of the helper process that supervises it. */
  pid: number;
  outerPid: number;
  /** Start times (/proc/PID/stat), so a recycled pid is never taken for the sandbox. */
  pidStart: string;
  outerStart: string;
  created: string;
  /** The image's Env, the base of every joined process's environment. */
  imageEnv: string[];
  /** slirp4netns and the port watcher, with the slirp4netns network: they end with pid 1, stop waits for them. */
  network?: ProcessRecord[];
}

export function sandboxDir(storeRoot: string, projectRoot: string): string {
  return join(storeRoot, 'sandboxes', createHash('sha256').update(projectRoot).digest('hex').slice(0, 16));
}

export function readSandboxState(dir: string): LiveSandboxState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as LiveSandboxState;
  } catch {
    return undefined;
  }
}

/** Up: its pid 1 and the helper supervising it are both the processes that started it (pid 1 dies with the helper). */
export function isLive(state: LiveSandboxState): boolean {
  return startTimeOf(state.pid) === state.pidStart && startTimeOf(state.outerPid) === state.outerStart;
}

export function writeSandboxState(dir: string, state: LiveSandboxState): void {
  const path = join(dir, 'state.json');
  writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${path}.tmp`, path);
}

/** `output: 'stderr'`: the process's stdout goes to devbox's stderr (what devbox runs besides the user's command). */
export function joinLiveSandbox(
  state: LiveSandboxState,
  process: ProcessSpec,
  stdin: 'inherit' | 'ignore',
  output: 'stdout' | 'stderr' = 'stdout',
): Promise<number> {
  return execForeground(helperPath(), joinArgs(state.pid, process), [stdin, output === 'stdout' ? 'inherit' : 2, 'inherit']);
}
