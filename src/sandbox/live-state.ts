/**
 * A live sandbox's state.json and whether the sandbox is up: all `devbox shell` reads before joining one,
 * kept apart from the lifecycle (live-sandbox.ts) so joining loads no store, image or storage code.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { joinCommand, runJoinCommand } from '../runtime/launch.js';
import { resolveSecurity, type SecuritySpec } from '../runtime/security.js';
import type { ProcessSpec } from '../runtime/spec.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { type ProcessRecord, startTimeOf } from '../util/processes.js';
import { compareCodeUnits } from '../util/format.js';
import type { SandboxUser } from './identity.js';
import { sha256Hex } from '../util/sha256.js';

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
  /** Names of the volumes it mounts (`devbox volume rm` refuses them while the sandbox exists). */
  volumes?: string[];
  /** The devbox networks it joined (devbox.json's "network"): it uses them while it runs (`network rm` refuses). */
  networks?: string[];
  /** slirp4netns and the port watcher, with the slirp4netns network: they end with pid 1, stop waits for them. */
  network?: ProcessRecord[];
  /** How its processes are confined; every process that joins gets the same (absent: a sandbox of an older devbox). */
  security?: SecuritySpec;
  /**
   * Written before the helper is let go, so that every sandbox that can outlive its starter is recorded; never
   * joined. Still set once the starter is gone: the start was interrupted, and the next one ends it.
   */
  starting?: true;
}

/**
 * A project's key: names its sandbox's directory, and is its ${devcontainerId} (volume names that differ per
 * project). Stable for as long as the project folder keeps its path.
 */
export function projectKey(projectRoot: string): string {
  return sha256Hex(projectRoot).slice(0, 16);
}

export function sandboxDir(storeRoot: string, projectRoot: string): string {
  return join(storeRoot, 'sandboxes', projectKey(projectRoot));
}

export function readSandboxState(dir: string): LiveSandboxState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as LiveSandboxState;
  } catch {
    return undefined;
  }
}

/**
 * Joinable: started to the end, and its pid 1 and the helper supervising it are both the processes that
 * started it (pid 1 dies with the helper).
 */
export function isLive(state: LiveSandboxState): boolean {
  return !state.starting && startTimeOf(state.pid) === state.pidStart && startTimeOf(state.outerPid) === state.outerStart;
}

/** Its pid 1 or its helper still runs, whether or not its start went to the end: devbox stop has work to do. */
export function hasProcesses(state: LiveSandboxState): boolean {
  return startTimeOf(state.pid) === state.pidStart || startTimeOf(state.outerPid) === state.outerStart;
}

export function writeSandboxState(dir: string, state: LiveSandboxState): void {
  // Describes running processes: nothing to keep across a power loss.
  writeFileAtomicSync(join(dir, 'state.json'), JSON.stringify(state, null, 2), { durable: false });
}

/** What confines the processes joined into it: as recorded at its start (Docker's defaults for an older record). */
export function sandboxSecurity(state: LiveSandboxState): SecuritySpec {
  return state.security ?? resolveSecurity();
}

/** The helper's command line (argv[0] included) that joinLiveSandbox runs. */
export function liveJoinCommand(state: LiveSandboxState, process: ProcessSpec): string[] {
  return joinCommand(state.pid, process, sandboxSecurity(state));
}

/** `output: 'stderr'`: the process's stdout goes to devbox's stderr (what devbox runs besides the user's command). */
export function joinLiveSandbox(
  state: LiveSandboxState,
  process: ProcessSpec,
  stdin: 'inherit' | 'ignore',
  output: 'stdout' | 'stderr' = 'stdout',
): Promise<number> {
  return runJoinCommand(liveJoinCommand(state, process), stdin, output);
}

export interface SandboxSummary {
  dir: string;
  state: LiveSandboxState;
  /** Any of its processes runs: it is up, or being started, or its start was interrupted. */
  running: boolean;
}

export function listSandboxes(storeRoot: string): SandboxSummary[] {
  const root = join(storeRoot, 'sandboxes');
  if (!existsSync(root)) return [];
  const summaries: SandboxSummary[] = [];
  for (const key of readdirSync(root)) {
    const dir = join(root, key);
    const state = readSandboxState(dir);
    if (state) summaries.push({ dir, state, running: hasProcesses(state) });
  }
  return summaries.sort((a, b) => compareCodeUnits(a.state.name, b.state.name));
}

/**
 * The shortest start of a sandbox's id that names it: stop and rm of a short name that is no longer a container's
 * ("db", "cafe" are hex too) never reach a project's sandbox, whose writable layer and home rm discards.
 */
const MIN_ID_PREFIX = 6;

/** The sandboxes `ref` names: by project folder, name, or at least MIN_ID_PREFIX characters of the id. */
export function sandboxesNamedBy(sandboxes: readonly SandboxSummary[], ref: string): SandboxSummary[] {
  const byId = ref.length >= MIN_ID_PREFIX;
  return sandboxes.filter((s) => s.state.project === resolve(ref) || s.state.name === ref || (byId && basename(s.dir).startsWith(ref)));
}
