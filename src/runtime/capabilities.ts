/**
 * Linux capabilities as Docker spells them on its command line: `--cap-add`/`--cap-drop` take names with or
 * without CAP_, in any case, and ALL. The set a sandbox gets is the bounding set of all its processes and the
 * permitted and effective sets of its root (the helper's --caps); a non-root user gets none, as in Docker.
 */
import { readFileSync } from 'node:fs';
import { DevboxError } from '../util/errors.js';

/** capabilities(7), by number. */
const CAPABILITY_NAMES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

export type Capability = (typeof CAPABILITY_NAMES)[number];

/** What Docker gives a container's root by default (moby's oci/caps defaults), in capabilities(7) order. */
export const DEFAULT_CAPABILITIES: readonly Capability[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_RAW',
  'CAP_SYS_CHROOT',
  'CAP_MKNOD',
  'CAP_AUDIT_WRITE',
  'CAP_SETFCAP',
];

/** Every capability this kernel has (`ALL`): the ones up to /proc/sys/kernel/cap_last_cap. */
function allCapabilities(): Capability[] {
  let last = CAPABILITY_NAMES.length - 1;
  try {
    last = Math.min(last, Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')));
  } catch {
    // no /proc: assume the kernel knows them all
  }
  return CAPABILITY_NAMES.slice(0, last + 1);
}

/** `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` are one capability; ALL stays ALL. */
function normalize(name: string, option: string): Capability | 'ALL' {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if ((CAPABILITY_NAMES as readonly string[]).includes(full)) return full as Capability;
  throw new DevboxError(`${option}: unknown capability "${name}"`, {
    fix: 'use a name from capabilities(7), with or without CAP_ (e.g. NET_ADMIN), or ALL',
    kind: 'usage',
  });
}

/**
 * The capabilities after `--cap-add` and `--cap-drop`, with Docker's rules: --privileged is all of them;
 * `--cap-add ALL` is all but the dropped ones; `--cap-drop ALL` leaves only the added ones; otherwise the
 * defaults minus the dropped plus the added. Unknown names are refused.
 */
export function resolveCapabilities(add: readonly string[], drop: readonly string[], privileged: boolean): Capability[] {
  const adds = add.map((name) => normalize(name, '--cap-add'));
  const drops = drop.map((name) => normalize(name, '--cap-drop'));
  let caps: Capability[];
  if (privileged) caps = allCapabilities();
  else if (adds.includes('ALL')) caps = allCapabilities().filter((c) => !drops.includes(c));
  else if (drops.includes('ALL')) caps = adds as Capability[];
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drops.includes(c)), ...(adds as Capability[])];
  return CAPABILITY_NAMES.filter((c) => caps.includes(c));
}

/** Capability numbers, the helper's --caps. */
export function capabilityNumbers(caps: readonly Capability[]): number[] {
  return caps.map((c) => CAPABILITY_NAMES.indexOf(c));
}
