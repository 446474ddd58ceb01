/**
 * Runs a sandbox in the foreground through the native helper and returns its exit status; the --sync-fd
 * exchange (readPid) serves live sandboxes too (sandbox/live-sandbox.ts).
 */
import type { Socket } from 'node:net';
import { helperPath } from '../userns/helper.js';
import { execForeground, startForeground } from '../util/exec.js';
import { helperArgs, type SandboxSpec } from './spec.js';

/** A sandbox whose namespaces exist and in which nothing runs yet. */
export interface StartingSandbox {
  /** Its pid 1, as this process sees it. */
  pid: number;
  /** Hangs up when the sandbox's pid 1 exits (hand it to programs that must end with the sandbox). */
  lifetime: Socket;
}

export interface LaunchOptions {
  /** `inherit` to give the sandbox devbox's stdin (-i), `ignore` for /dev/null. */
  stdin: 'inherit' | 'ignore';
  /**
   * Runs once the sandbox's namespaces exist and before its file systems are set up or anything runs in
   * it (slirp4netns attaches here). If it throws, the sandbox is ended and launchSandbox throws that.
   */
  beforeStart?: (sandbox: StartingSandbox) => Promise<void>;
  /** File descriptor for the sandbox's stdout and stderr (a build's log); devbox's own by default. */
  output?: number;
}

/** The helper's --sync-fd, the first descriptor after the standard streams. */
export const SYNC_FD = 3;

/** The sandbox's pid from the helper's first line, or undefined when the helper ended first (it said why). */
export function readPid(sync: Socket): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!text.includes('\n')) return;
      sync.off('data', onData);
      sync.pause();
      resolve(Number(text.slice(0, text.indexOf('\n'))));
    };
    sync.on('data', onData);
    sync.once('close', () => resolve(undefined));
    sync.on('error', () => resolve(undefined));
  });
}

export async function launchSandbox(spec: SandboxSpec, options: LaunchOptions): Promise<number> {
  const output = options.output ?? 'inherit';
  if (!options.beforeStart) return execForeground(helperPath(), helperArgs(spec), [options.stdin, output, output]);
  const { child, exit } = startForeground(helperPath(), helperArgs(spec, SYNC_FD), [options.stdin, output, output, 'pipe']);
  const sync = child.stdio[SYNC_FD] as Socket;
  const pid = await readPid(sync);
  if (pid === undefined) return exit;
  try {
    await options.beforeStart({ pid, lifetime: sync });
  } catch (error) {
    sync.destroy(); // the helper reads end of file, gives up and takes the sandbox down: nothing was started
    await exit;
    throw error;
  }
  // The go byte; then only the sandbox's pid 1 (and whoever beforeStart gave the socket to) holds it.
  await new Promise<void>((resolve) => sync.write('g', () => resolve()));
  sync.destroy();
  return exit;
}
