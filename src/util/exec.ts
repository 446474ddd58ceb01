/**
 * The one seam through which devbox starts other programs: argument arrays only, never shell strings.
 * `execCapture` for programs whose output we read;
 * `execForeground` (node:child_process) for the sandbox helper on the hot path of `devbox run`;
 * `spawnBeside` for programs that run next to a sandbox (slirp4netns, a live sandbox's port watcher).
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { Readable } from 'node:stream';
import { DevboxError, describeError } from './errors.js';
import { childProcess } from './lazy-builtins.js';

export interface CaptureResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** It was killed after `timeoutMs`. */
  timedOut?: boolean;
}

export interface CaptureOptions {
  input?: Readable | string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Resolve with a non-zero exit code instead of throwing. */
  allowFailure?: boolean;
  /** Kill it (SIGTERM) after this long; the result says timedOut. */
  timeoutMs?: number;
}

/**
 * Runs a program to completion and returns its output; a missing program becomes a DevboxError naming it.
 * Plain child_process, not execa: loading execa cost more (~60-100 ms) than most of the programs devbox runs
 * take, and these few options are all devbox needs.
 */
export function execCapture(file: string, args: readonly string[], options: CaptureOptions = {}): Promise<CaptureResult> {
  const input = options.input;
  return new Promise((resolve, reject) => {
    const child = childProcess().spawn(file, args, { cwd: options.cwd, env: options.env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
          }, options.timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    if (input !== undefined) {
      // An early exit of the child (EPIPE) shows in its exit status and stderr, not here.
      child.stdin!.on('error', () => {});
      if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin!.end(input);
      else input.pipe(child.stdin!);
    }
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new DevboxError(`cannot run ${file}: ${error.code === 'ENOENT' ? 'program not found' : describeError(error)}`, { cause: error }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const exitCode = code ?? 128 + (signal ? osConstants.signals[signal] : 0);
      const out = { stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString(), exitCode, ...(timedOut ? { timedOut: true } : {}) };
      if (exitCode !== 0 && !options.allowFailure) {
        const detail = out.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit status ${exitCode}`;
        reject(new DevboxError(`${file} failed: ${detail}`));
      } else resolve(out);
    });
  });
}

/** Signals devbox passes on to a foreground child; SIGINT/SIGQUIT reach it from the terminal directly. */
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'];
const TERMINAL_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGQUIT'];

export type { ChildProcess };

export interface ForegroundChild {
  child: ChildProcess;
  /** The exit status (128+signal when it was killed), the way a shell reports it. */
  exit: Promise<number>;
}

/** Starts a program in the foreground: devbox passes signals on to it until it exits. */
export function startForeground(file: string, args: readonly string[], stdio: StdioOptions, options: { cwd?: string } = {}): ForegroundChild {
  const child = childProcess().spawn(file, args, { stdio, cwd: options.cwd });
  const exit = new Promise<number>((resolve, reject) => {
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    const ignore = () => {};
    for (const s of FORWARDED_SIGNALS) process.on(s, forward);
    for (const s of TERMINAL_SIGNALS) process.on(s, ignore);
    const detach = () => {
      for (const s of FORWARDED_SIGNALS) process.off(s, forward);
      for (const s of TERMINAL_SIGNALS) process.off(s, ignore);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      detach();
      reject(error.code === 'ENOENT' ? new DevboxError(`cannot run ${file}: program not found`) : error);
    });
    child.once('exit', (code, signal) => {
      detach();
      resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 0));
    });
  });
  return { child, exit };
}

/** Runs a program in the foreground with the given stdio and resolves with its exit status. */
export function execForeground(file: string, args: readonly string[], stdio: StdioOptions, options: { cwd?: string } = {}): Promise<number> {
  return startForeground(file, args, stdio, options).exit;
}

/**
 * Starts a program that runs beside devbox (given by absolute path, found beforehand) and resolves once it
 * runs. Its end is the caller's business: it gets no signals from devbox. `umask`: the child's. `detached`:
 * it outlives devbox (a session of its own, out of reach of the terminal's signals; devbox does not wait for it).
 */
export function spawnBeside(
  file: string,
  args: readonly string[],
  options: { cwd: string; stdio: StdioOptions; umask?: number; detached?: boolean; env?: NodeJS.ProcessEnv },
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // The child inherits the umask at fork, which spawn() does before it returns.
    const previous = options.umask === undefined ? undefined : process.umask(options.umask);
    let child: ChildProcess;
    try {
      child = childProcess().spawn(file, args, { cwd: options.cwd, stdio: options.stdio, detached: options.detached, env: options.env });
    } finally {
      if (previous !== undefined) process.umask(previous);
    }
    child.once('spawn', () => {
      if (options.detached) child.unref();
      resolve(child);
    });
    child.once('error', (error) => reject(new DevboxError(`cannot run ${file}: ${describeError(error)}`, { cause: error })));
  });
}

/** The first line a child writes on `stream` (without its newline); undefined when the stream ends first. */
export function firstLine(stream: Readable): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
    stream.once('end', () => resolve(undefined));
    stream.once('error', () => resolve(undefined));
  });
}
