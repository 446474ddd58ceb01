/**
 * `--security-opt` as Docker and podman take it (KEY=VALUE, or the older KEY:VALUE), with --cap-add,
 * --cap-drop and --privileged, into the sandbox's confinement (runtime/security.ts). A seccomp profile file is
 * read here, as Docker's client reads it, so a mistake in it is one line at its file:line:col before anything
 * is created.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { errorAt, readConfigFile } from '../project/config-file.js';
import { checkSeccompProfile, type SeccompProfile } from '../runtime/seccomp.js';
import { MASKED_PATHS, READONLY_PATHS, resolveSecurity, type SecurityRequest, type SecuritySpec } from '../runtime/security.js';
import { DevboxError } from '../util/errors.js';

function usage(message: string, fix: string): DevboxError {
  return new DevboxError(message, { fix, kind: 'usage' });
}

function readSeccompProfile(file: string): SeccompProfile {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw usage(
      `--security-opt seccomp=${file}: no profile file at ${path}`,
      "give the path of a seccomp profile in JSON (Docker's format), or seccomp=unconfined",
    );
  }
  const config = readConfigFile(path);
  const problem = checkSeccompProfile(config.value);
  if (problem) throw errorAt(config, problem.path, problem.message, "a profile is in Docker's format: see docs/security.md");
  return config.value as SeccompProfile;
}

/** `key=value`; `key:value` as older Docker wrote it; `no-new-privileges` alone. */
function split(option: string): [string, string | undefined] {
  const eq = option.indexOf('=');
  if (eq >= 0) return [option.slice(0, eq), option.slice(eq + 1)];
  if (option === 'no-new-privileges') return [option, undefined];
  const colon = option.indexOf(':');
  if (colon >= 0) return [option.slice(0, colon), option.slice(colon + 1)];
  throw usage(`--security-opt: invalid option "${option}"`, 'write KEY=VALUE, e.g. seccomp=unconfined');
}

/** Paths podman's unmask= and mask= take: a ':'-separated list. */
function pathList(value: string, key: string): string[] {
  const paths = value.split(':').filter(Boolean);
  const relative = paths.find((p) => !p.startsWith('/'));
  if (!paths.length || relative !== undefined)
    throw usage(`--security-opt ${key}: expected absolute paths separated by ':', got "${value}"`, `e.g. ${key}=/proc/keys`);
  return paths;
}

function applyOption(request: SecurityRequest, option: string): void {
  const [key, value = ''] = split(option);
  switch (key) {
    case 'seccomp':
      if (!value) throw usage('--security-opt seccomp: expected unconfined or a profile file', 'e.g. seccomp=unconfined or seccomp=./profile.json');
      request.seccomp = value === 'unconfined' ? 'unconfined' : value === 'builtin' ? undefined : readSeccompProfile(value);
      return;
    case 'no-new-privileges':
      // Always on: the helper sets no_new_privs for every process it starts.
      if (value === '' || value === 'true') return;
      if (value === 'false')
        throw usage('--security-opt no-new-privileges=false: devbox always sets no_new_privs', 'setuid and file capabilities never raise privileges inside');
      throw usage(`--security-opt no-new-privileges: expected true or false, got "${value}"`, 'write no-new-privileges or no-new-privileges=true');
    case 'systempaths':
      if (value !== 'unconfined') throw usage(`--security-opt systempaths: expected unconfined, got "${value}"`, 'write systempaths=unconfined');
      request.unmask = 'ALL';
      return;
    case 'unmask': {
      if (value === 'ALL') {
        request.unmask = 'ALL';
        return;
      }
      const known = [...MASKED_PATHS, ...READONLY_PATHS];
      const paths = pathList(value, key);
      const unknown = paths.find((p) => !known.includes(p));
      if (unknown) throw usage(`--security-opt unmask: ${unknown} is not masked or read-only`, `ALL, or some of ${known.join(' ')}`);
      if (request.unmask !== 'ALL') request.unmask = [...(request.unmask ?? []), ...paths];
      return;
    }
    case 'mask':
      request.mask = [...(request.mask ?? []), ...pathList(value, key)];
      return;
    case 'label':
      if (value === 'disable') return; // there is no SELinux label to turn off
      throw usage(`--security-opt label=${value}: devbox sets no SELinux labels`, 'only label=disable is accepted');
    case 'apparmor':
      if (value === 'unconfined') return; // there is no AppArmor profile to turn off
      throw usage(`--security-opt apparmor=${value}: devbox loads no AppArmor profiles`, 'only apparmor=unconfined is accepted');
    default:
      throw usage(
        `--security-opt: unknown option "${key}"`,
        'devbox takes seccomp=, no-new-privileges, systempaths=unconfined, unmask=, mask=, label=disable and apparmor=unconfined',
      );
  }
}

export interface SecurityFlags {
  capAdd: readonly string[];
  capDrop: readonly string[];
  securityOpt: readonly string[];
  privileged: boolean;
}

/** The confinement `docker run`'s security flags ask for. */
export function securityFromFlags(flags: SecurityFlags): SecuritySpec {
  const request: SecurityRequest = { capAdd: flags.capAdd, capDrop: flags.capDrop, privileged: flags.privileged };
  for (const option of flags.securityOpt) applyOption(request, option);
  return resolveSecurity(request);
}
