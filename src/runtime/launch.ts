/** Runs a sandbox in the foreground through the native helper and returns its exit status. */
import { helperPath } from '../userns/helper.js';
import { execForeground } from '../util/exec.js';
import { helperArgs, type SandboxSpec } from './spec.js';

export interface LaunchOptions {
  /** `inherit` to give the sandbox devbox's stdin (-i), `ignore` for /dev/null. */
  stdin: 'inherit' | 'ignore';
}

export function launchSandbox(spec: SandboxSpec, options: LaunchOptions): Promise<number> {
  return execForeground(helperPath(), helperArgs(spec), [options.stdin, 'inherit', 'inherit']);
}
