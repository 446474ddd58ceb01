/** Runs a sandbox in the foreground through the native helper and returns its exit status. */
import { helperPath } from '../userns/helper.js';
import { execForeground } from '../util/exec.js';
import { helperArgs, type SandboxSpec } from './spec.js';

export interface LaunchOptions {
  /** `inherit` to give the sandbox devbox's stdin (-i), `ignore` for /dev/null. */
  stdin: 'inherit' | 'ignore';
  /** File descriptor for the sandbox's stdout and stderr (a build's log); devbox's own by default. */
  output?: number;
}

export function launchSandbox(spec: SandboxSpec, options: LaunchOptions): Promise<number> {
  const output = options.output ?? 'inherit';
  return execForeground(helperPath(), helperArgs(spec), [options.stdin, output, output]);
}
