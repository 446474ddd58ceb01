/** A command written as one string in a Compose file, split into words as Compose does (POSIX shell quoting, no expansion). */
import { createRequire } from 'node:module';
import { DevboxError } from '../util/errors.js';

type ShellQuote = typeof import('shell-quote');
let shellQuote: ShellQuote | undefined;

export function splitCommand(text: string, where: string): string[] {
  // A function for the environment keeps $VAR as written: Compose interpolated the file already.
  // Loaded on first use: devbox.json is read on every `devbox shell`, and only a service's command needs it.
  shellQuote ??= createRequire(import.meta.url)('shell-quote') as ShellQuote;
  const parsed = shellQuote.parse(text, (name) => `$${name}`);
  return parsed.map((word) => {
    if (typeof word === 'string') return word;
    if ('comment' in word) return `#${word.comment}`;
    throw new DevboxError(`${where}: "${text}" has shell operators (${'op' in word ? word.op : 'a pattern'})`, {
      fix: 'write it as ["sh", "-c", "…"] to run it through a shell',
    });
  });
}
