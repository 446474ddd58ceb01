/**
 * The one error type for expected failures: what went wrong (naming the file, image or path), how to fix it,
 * and its kind. Entry points print `toLine()` and turn the kind into an exit status (cli/report.ts); a stack
 * trace only with DEVBOX_DEBUG=1.
 */

/**
 * `usage`: the command line is wrong (an unknown option, a malformed value): status 125 from every command, as
 * docker's CLI. `failure`: anything else: status 1, or 125 from commands that run a container (`docker run`'s
 * "the error is with the engine, not the command").
 */
export type ErrorKind = 'usage' | 'failure';

export interface DevboxErrorOptions {
  /** What the user can do about it, appended after the message. */
  fix?: string;
  kind?: ErrorKind;
  cause?: unknown;
}

/** Marks a DevboxError of any copy of this module (see its Symbol.hasInstance below). */
const DEVBOX_ERROR = Symbol.for('devbox.error');

export class DevboxError extends Error {
  readonly [DEVBOX_ERROR] = true;
  readonly fix?: string;
  readonly kind: ErrorKind;

  constructor(message: string, options: DevboxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DevboxError';
    this.fix = options.fix;
    this.kind = options.kind ?? 'failure';
  }

  /** The single line shown to the user. */
  toLine(): string {
    const text = this.fix ? `${this.message} (${this.fix})` : this.message;
    return text.replace(/\s*\n\s*/g, ' ');
  }
}

/**
 * Each esbuild bundle (scripts/bundle-hot.mjs) has its own copy of this class, and one bundle's code may call
 * another's (`devbox rm` of a project sandbox): an error thrown by one is still a DevboxError to the other.
 * Subclasses keep the ordinary check.
 */
Object.defineProperty(DevboxError, Symbol.hasInstance, {
  value(this: typeof DevboxError, value: unknown): boolean {
    if (this !== DevboxError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && DEVBOX_ERROR in value;
  },
});

/** A malformed command line or option value. */
export function usageError(message: string, fix?: string): DevboxError {
  return new DevboxError(message, { fix, kind: 'usage' });
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
