/** A command written as one string in a Compose file, split into words as Compose does (POSIX shell quoting, no expansion). */
import { parse } from 'shell-quote';
import { DevboxError } from '../util/errors.js';

export function splitCommand(text: string, where: string): string[] {
  // A function for the environment keeps $VAR as written: Compose interpolated the file already.
  const parsed = parse(text, (name) => `$${name}`);
  return parsed.map((word) => {
    if (typeof word === 'string') return word;
    if ('comment' in word) return `#${word.comment}`;
    throw new DevboxError(`${where}: "${text}" has shell operators (${'op' in word ? word.op : 'a pattern'})`, {
      fix: 'write it as ["sh", "-c", "…"] to run it through a shell',
    });
  });
}
