/**
 * entry.json in a project sandbox's directory: what every process devbox starts in the sandbox gets beyond
 * the image (the environment of the config and the image's metadata, with what the user's shell start-up
 * files set), the postAttachCommands of `devbox shell`, and a lifecycle command that failed. Written when
 * the sandbox starts and when a lifecycle command fails; read by every entry (one small JSON read). It
 * names the sandbox it belongs to by its pid 1's start time: an older file is not used.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LiveSandboxState } from '../sandbox/live-state.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import type { LifecycleCommand } from './project-config.js';

/** A lifecycle command in a form a worker process can take (JSON). */
export interface HookRecord {
  hook: string;
  origin: string;
  command: LifecycleCommand;
}

/** A lifecycle command that did not succeed. */
export interface HookFailure {
  hook: string;
  origin: string;
  /** The name of the failed command of an object (parallel) form. */
  name?: string;
  status: number;
}

export interface EntrySettings {
  /** Start time of the sandbox's pid 1, as in state.json. */
  pidStart: string;
  /** Over the image's Env; null unsets (also a variable the host's terminal would carry in). */
  env: Record<string, string | null>;
  postAttach: HookRecord[];
  failed?: HookFailure;
  shutdownAction: 'none' | 'stopContainer' | 'stopCompose';
}

export function entryPath(dir: string): string {
  return join(dir, 'entry.json');
}

/** The settings of the sandbox `state` describes (without: of the last start); undefined when there are none for it. */
export function readEntrySettings(dir: string, state?: Pick<LiveSandboxState, 'pidStart'>): EntrySettings | undefined {
  try {
    const settings = JSON.parse(readFileSync(entryPath(dir), 'utf8')) as EntrySettings;
    return state === undefined || settings.pidStart === state.pidStart ? settings : undefined;
  } catch {
    return undefined;
  }
}

export function writeEntrySettings(dir: string, settings: EntrySettings): void {
  // Belongs to the running sandbox (its pidStart): nothing to keep across a power loss.
  writeFileAtomicSync(entryPath(dir), JSON.stringify(settings, null, 2), { durable: false });
}

/** Records a failure in the sandbox's entry.json (when it still belongs to that sandbox). */
export function recordFailure(dir: string, state: Pick<LiveSandboxState, 'pidStart'>, failed: HookFailure): void {
  const settings = readEntrySettings(dir, state);
  if (settings) writeEntrySettings(dir, { ...settings, failed });
}

/** How a failure reads: "postCreateCommand from devcontainer.json exited with status 1". */
export function describeFailure(failed: HookFailure): string {
  return `${failed.name ? `"${failed.name}" of ` : ''}${failed.hook} from ${failed.origin} exited with status ${failed.status}`;
}
