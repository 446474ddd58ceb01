/**
 * What confines a sandbox's processes besides the user namespace, as Docker and podman confine a container:
 * a capability set, a seccomp filter and runc's masked and read-only /proc and /sys paths. Every sandbox gets
 * the defaults (runs, build steps, project sandboxes and the processes that join them); `devbox run` takes
 * Docker's --cap-add, --cap-drop, --privileged and --security-opt to change them (cli/security-options.ts).
 */
import { type Capability, capabilityNumbers, resolveCapabilities } from './capabilities.js';
import { compileSeccomp, type SeccompProfile } from './seccomp.js';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp-default.js';

export interface SecuritySpec {
  /** The bounding set of every process, and root's permitted and effective sets. */
  capabilities: Capability[];
  /** The helper's --seccomp program (runtime/seccomp.ts); undefined: no filter (seccomp=unconfined). */
  seccomp?: string;
  /** A file reads as /dev/null, a directory as an empty read-only tmpfs. */
  maskedPaths: string[];
  /** Bound read-only over themselves. */
  readonlyPaths: string[];
}

/** runc's defaults (OCI spec linux.maskedPaths and linux.readonlyPaths, as Docker and podman set them). */
export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface SecurityRequest {
  capAdd?: readonly string[];
  capDrop?: readonly string[];
  /** All capabilities, no seccomp filter, no masked or read-only paths (devices are not added: see docs). */
  privileged?: boolean;
  /** The profile to compile; `unconfined` for none. Default: devbox's (runtime/seccomp-default.ts). */
  seccomp?: SeccompProfile | 'unconfined';
  /** `ALL`, or paths of MASKED_PATHS and READONLY_PATHS left as they are. */
  unmask?: readonly string[] | 'ALL';
  /** More paths to mask. */
  mask?: readonly string[];
}

/** The confinement a request asks for; an unknown capability name is a usage error. */
export function resolveSecurity(request: SecurityRequest = {}): SecuritySpec {
  const privileged = request.privileged ?? false;
  const capabilities = resolveCapabilities(request.capAdd ?? [], request.capDrop ?? [], privileged);
  const profile = privileged ? 'unconfined' : (request.seccomp ?? DEFAULT_SECCOMP_PROFILE);
  const unmasked = privileged || request.unmask === 'ALL' ? undefined : new Set(request.unmask ?? []);
  return {
    capabilities,
    seccomp: profile === 'unconfined' ? undefined : compileSeccomp(profile, { capabilities }),
    maskedPaths: [...(unmasked ? MASKED_PATHS.filter((p) => !unmasked.has(p)) : []), ...(request.mask ?? [])],
    readonlyPaths: unmasked ? READONLY_PATHS.filter((p) => !unmasked.has(p)) : [],
  };
}

/** The helper's --caps. */
export function capabilityArgs(spec: SecuritySpec): string[] {
  return ['--caps', capabilityNumbers(spec.capabilities).join(',')];
}

/**
 * The helper's options for the processes of a sandbox or a join: capabilities and the filter. With
 * `seccompCache` (a directory of the store) the helper keeps the compiled filter there, one file per program
 * that it names itself, and loads it instead of compiling on the next run (native/seccomp.c).
 */
export function processSecurityArgs(spec: SecuritySpec, seccompCache?: string): string[] {
  const args = capabilityArgs(spec);
  if (!spec.seccomp) return args;
  args.push('--seccomp', spec.seccomp);
  if (seccompCache) args.push('--seccomp-cache', seccompCache);
  return args;
}

/** The helper's options for masked and read-only paths: after every other mount, as runc applies them. */
export function pathSecurityArgs(spec: SecuritySpec): string[] {
  return [...spec.maskedPaths.flatMap((p) => ['--masked-path', p]), ...spec.readonlyPaths.flatMap((p) => ['--readonly-path', p])];
}
