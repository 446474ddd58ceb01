/**
 * The one error type for expected failures: what went wrong (naming the file, image or path), how to fix it,
 * and the exit status. Commands print `toLine()`; a stack trace only with DEVBOX_DEBUG=1.
 */
export interface DevboxErrorOptions {
  /** What the user can do about it, appended after the message. */
  fix?: string;
  /** Process exit status; 125 like `docker run` for "could not start", 1 otherwise. */
  exitCode?: number;
  cause?: unknown;
}

export class DevboxError extends Error {
  readonly fix?: string;
  readonly exitCode: number;

  constructor(message: string, options: DevboxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DevboxError';
    this.fix = options.fix;
    this.exitCode = options.exitCode ?? 1;
  }

  /** The single line shown to the user. */
  toLine(): string {
    const text = this.fix ? `${this.message} (${this.fix})` : this.message;
    return text.replace(/\s*\n\s*/g, ' ');
  }
}

/** Error text of an unknown thrown value, for wrapping system errors into a DevboxError message. */
export function describeError(error: unknown): string {
  if (error instanceof DevboxError) return error.toLine();
  const e = error as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.syscall === 'string') {
    // Node's message starts "ENOENT: no such file or directory, open …": keep the words, and the code for searching.
    const words = /^[A-Z0-9]+: ([^,]+)/.exec(e.message ?? '')?.[1];
    return `${e.syscall}${e.path ? ` ${e.path}` : ''}: ${words ? `${words} (${e.code})` : e.code}`;
  }
  return e instanceof Error ? e.message : String(error);
}
