/** Runs the built devbox CLI as a child process, the way a user does. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const DEVBOX_BIN = fileURLToPath(new URL('../../../bin/devbox', import.meta.url));
/** The `devbox` command setup.sh puts on the PATH: native/launcher.c, which replays recorded joins and runs bin/devbox otherwise. */
export const DEVBOX_LAUNCHER = fileURLToPath(new URL('../../../native/devbox-launcher', import.meta.url));

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function devbox(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEVBOX_BIN, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    if (options.input !== undefined) child.stdin!.end(options.input);
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ exitCode: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15), stdout, stderr }));
  });
}

/** Runs devbox and fails the test with its stderr unless it exits 0. */
export async function devboxOk(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const result = await devbox(args, options);
  if (result.exitCode !== 0) throw new Error(`devbox ${args.join(' ')} exited ${result.exitCode}: ${result.stderr.trim()}`);
  return result;
}
