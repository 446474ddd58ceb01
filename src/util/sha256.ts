/**
 * SHA-256 of a short text, for names on disk that the start-up paths compute (an id map's layer folder, a
 * project's sandbox state): @noble/hashes in JavaScript, so that `devbox run` and the
 * project entry do not load node:crypto (~6.5 ms of a quiet machine's `devbox run -d`) for a few hundred bytes.
 * Blobs and layers, megabytes each, keep node:crypto's native hash.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}
