/**
 * Random ids and names: container and volume ids, temp names. Read from /dev/urandom rather than node:crypto,
 * whose load alone was ~6.5 ms of a `devbox run -d` of ~166 ms on a quiet test machine (2026-12-07), and
 * whose `crypto.getRandomValues` loads WebCrypto (~7 ms): these need the kernel's random bytes, not a
 * cryptographic library.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { crypto } from './lazy-builtins.js';

function randomBytes(count: number): Buffer {
  let fd: number;
  try {
    fd = openSync('/dev/urandom', 'r');
  } catch {
    return crypto().randomBytes(count); // a root without /dev (a worker confined to its layer): getrandom(2)
  }
  const bytes = Buffer.alloc(count);
  try {
    // /dev/urandom returns a request of up to 32 MiB whole.
    readSync(fd, bytes, 0, count, null);
  } finally {
    closeSync(fd);
  }
  return bytes;
}

/** `count` random bytes as lower-case hex (Docker's 64-character ids are 32 bytes). */
export function randomHex(count: number): string {
  return randomBytes(count).toString('hex');
}

/** A uniformly random integer in [0, bound), bound at most 2^32. */
export function randomIndex(bound: number): number {
  // Rejecting the top partial range keeps every index equally likely.
  const limit = 2 ** 32 - (2 ** 32 % bound);
  for (;;) {
    const value = randomBytes(4).readUInt32LE(0);
    if (value < limit) return value % bound;
  }
}
