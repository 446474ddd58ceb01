/** Signal names as docker takes them (KILL, SIGKILL, 9), to numbers. */
import { constants } from 'node:os';
import { DevboxError } from './errors.js';

export function signalNumber(text: string): number {
  const upper = text.toUpperCase();
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = (upper.startsWith('SIG') ? upper : `SIG${upper}`) as keyof typeof constants.signals;
    const n = constants.signals[name];
    if (n !== undefined) return n;
  }
  throw new DevboxError(`invalid signal "${text}"`, { fix: 'use a name such as TERM, KILL, HUP or a number (1-64)', kind: 'usage' });
}

/** The name without "SIG" (TERM for 15). */
export function signalName(signal: number): string {
  const found = Object.entries(constants.signals).find(([, n]) => n === signal);
  return found ? found[0].slice(3) : String(signal);
}
