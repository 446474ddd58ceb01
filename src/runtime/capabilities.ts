/**
 * Linux capabilities as Docker spells them on its command line: `--cap-add`/`--cap-drop` take names with or
 * without CAP_, in any case, and ALL. The set a sandbox gets is the bounding set of all its processes and the
 * permitted and effective sets of its root (the helper's --caps); a non-root user gets none, as in Docker.
 */
import { readFileSync } from 'node:fs';
import { DevboxError } from '../util/errors.js';
import { words } from '../util/format.js';

/** Capability names as capabilities(7) spells them: CAP_NET_ADMIN. */
export type Capability = `CAP_${string}`;

const named = (text: string): Capability[] => words(text).map((name): Capability => `CAP_${name}`);

/** capabilities(7), by number. */
const CAPABILITY_NAMES = named(`
  CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE
  NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN
  SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE
  MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE
`);

/** What Docker gives a container's root by default (moby's oci/caps defaults), in capabilities(7) order. */
export const DEFAULT_CAPABILITIES: readonly Capability[] = named(`
  CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE
  SETFCAP
`);

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
  if (CAPABILITY_NAMES.includes(full as Capability)) return full as Capability;
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
