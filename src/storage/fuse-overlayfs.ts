/** The fuse-overlayfs program: where it is and whether /dev/fuse lets this user mount with it. */
import { accessSync, constants } from 'node:fs';
import { DevboxError } from '../util/errors.js';
import { findProgram } from '../util/programs.js';

export function fuseDeviceUsable(): boolean {
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The program's path, or a DevboxError saying what is missing and how to get it. */
export function requireFuseOverlayfs(): string {
  const program = findProgram('fuse-overlayfs');
  if (!program) throw new DevboxError('fuse-overlayfs not found', { fix: 'apt-get install fuse-overlayfs' });
  if (!fuseDeviceUsable()) {
    throw new DevboxError('/dev/fuse is not readable and writable by this user', {
      fix: 'as root: chmod 666 /dev/fuse (or apt-get install fuse3, which sets it up)',
    });
  }
  return program;
}
