/**
 * Seccomp profiles in Docker's JSON format (moby's profiles/seccomp: defaultAction, defaultErrnoRet,
 * architectures or archMap, syscalls[] with names, action, errnoRet, args, includes and excludes), checked,
 * then compiled for this machine into the helper's --seccomp program (native/seccomp.c): the rules that apply
 * to this architecture, kernel and capability set, in libseccomp's words. libseccomp does the rest.
 */
import { release } from 'node:os';
import type { Capability } from './capabilities.js';

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface SeccompFilter {
  arches?: string[];
  caps?: string[];
  minKernel?: string;
}

export interface SeccompRule {
  names?: string[];
  /** The older spelling of a one-name rule. */
  name?: string;
  action: string;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  comment?: string;
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
}

export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures: string[] | null }[];
  syscalls?: SeccompRule[] | null;
}

/** Where in the profile something is wrong (a JSON path), and what. */
export interface SeccompProblem {
  path: (string | number)[];
  message: string;
}

const EPERM = 1;

const ACTIONS: Record<string, string> = {
  SCMP_ACT_ALLOW: 'allow',
  SCMP_ACT_ERRNO: 'errno',
  SCMP_ACT_KILL: 'kill_thread',
  SCMP_ACT_KILL_THREAD: 'kill_thread',
  SCMP_ACT_KILL_PROCESS: 'kill_process',
  SCMP_ACT_TRAP: 'trap',
  SCMP_ACT_TRACE: 'trace',
  SCMP_ACT_LOG: 'log',
};

const OPERATORS: Record<string, string> = {
  SCMP_CMP_NE: 'ne',
  SCMP_CMP_LT: 'lt',
  SCMP_CMP_LE: 'le',
  SCMP_CMP_EQ: 'eq',
  SCMP_CMP_GE: 'ge',
  SCMP_CMP_GT: 'gt',
  SCMP_CMP_MASKED_EQ: 'masked_eq',
};

const ARCHES = [
  'X86',
  'X86_64',
  'X32',
  'ARM',
  'AARCH64',
  'MIPS',
  'MIPS64',
  'MIPS64N32',
  'MIPSEL',
  'MIPSEL64',
  'MIPSEL64N32',
  'PPC',
  'PPC64',
  'PPC64LE',
  'S390',
  'S390X',
  'PARISC',
  'PARISC64',
  'RISCV64',
].map((a) => `SCMP_ARCH_${a}`);

/** This machine's ABI in the profile's words, and in Go's (what includes.arches names, as in Docker). */
const HOST_ARCHES: Record<string, { seccomp: string; go: string }> = {
  x64: { seccomp: 'SCMP_ARCH_X86_64', go: 'amd64' },
  arm64: { seccomp: 'SCMP_ARCH_AARCH64', go: 'arm64' },
  arm: { seccomp: 'SCMP_ARCH_ARM', go: 'arm' },
  ia32: { seccomp: 'SCMP_ARCH_X86', go: '386' },
  ppc64: { seccomp: 'SCMP_ARCH_PPC64LE', go: 'ppc64le' },
  s390x: { seccomp: 'SCMP_ARCH_S390X', go: 's390x' },
  riscv64: { seccomp: 'SCMP_ARCH_RISCV64', go: 'riscv64' },
};

const isErrno = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 4095;
const isArgValue = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isStringList = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');

function checkAction(action: unknown, path: (string | number)[]): SeccompProblem | undefined {
  if (action === 'SCMP_ACT_NOTIFY') return { path, message: 'SCMP_ACT_NOTIFY needs a seccomp agent, which devbox does not run' };
  if (typeof action !== 'string' || !(action in ACTIONS))
    return { path, message: `unknown action ${JSON.stringify(action)} (expected one of ${Object.keys(ACTIONS).join(', ')})` };
  return undefined;
}

function checkFilter(filter: unknown, path: (string | number)[]): SeccompProblem | undefined {
  if (filter === undefined || filter === null) return undefined;
  if (typeof filter !== 'object') return { path, message: 'must be an object with arches, caps or minKernel' };
  const f = filter as Record<string, unknown>;
  for (const key of ['arches', 'caps'] as const)
    if (f[key] !== undefined && f[key] !== null && !isStringList(f[key])) return { path: [...path, key], message: 'must be a list of strings' };
  if (f.minKernel !== undefined && f.minKernel !== '' && !(typeof f.minKernel === 'string' && /^\d+\.\d+/.test(f.minKernel)))
    return { path: [...path, 'minKernel'], message: 'must be a kernel version such as "4.8"' };
  return undefined;
}

function checkRule(rule: unknown, path: (string | number)[]): SeccompProblem | undefined {
  if (typeof rule !== 'object' || rule === null) return { path, message: 'must be an object' };
  const r = rule as Record<string, unknown>;
  const names = r.names ?? (r.name === undefined ? undefined : [r.name]);
  if (!isStringList(names) || !(names as string[]).length) return { path, message: 'needs "names": a list of system call names' };
  const bad = (names as string[]).findIndex((n) => !/^[a-z0-9_]+$/.test(n));
  if (bad >= 0) return { path: [...path, r.names ? 'names' : 'name'], message: `${JSON.stringify((names as string[])[bad])} is not a system call name` };
  const action = checkAction(r.action, [...path, 'action']);
  if (action) return action;
  if (r.errnoRet !== undefined && r.errnoRet !== null && !isErrno(r.errnoRet))
    return { path: [...path, 'errnoRet'], message: 'must be an errno number from 0 to 4095' };
  if (r.args !== undefined && r.args !== null) {
    if (!Array.isArray(r.args)) return { path: [...path, 'args'], message: 'must be a list' };
    for (const [i, arg] of (r.args as unknown[]).entries()) {
      const at = [...path, 'args', i];
      const a = arg as Record<string, unknown>;
      if (typeof arg !== 'object' || arg === null) return { path: at, message: 'must be an object with index, value and op' };
      if (!Number.isInteger(a.index) || (a.index as number) < 0 || (a.index as number) > 5)
        return { path: [...at, 'index'], message: 'must be an argument index from 0 to 5' };
      if (!isArgValue(a.value)) return { path: [...at, 'value'], message: `must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}` };
      if (a.valueTwo !== undefined && !isArgValue(a.valueTwo))
        return { path: [...at, 'valueTwo'], message: `must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}` };
      if (typeof a.op !== 'string' || !(a.op in OPERATORS))
        return { path: [...at, 'op'], message: `unknown comparison ${JSON.stringify(a.op)} (expected one of ${Object.keys(OPERATORS).join(', ')})` };
    }
  }
  return checkFilter(r.includes, [...path, 'includes']) ?? checkFilter(r.excludes, [...path, 'excludes']);
}

/** The first thing wrong with a profile, or undefined when it can be compiled. */
export function checkSeccompProfile(value: unknown): SeccompProblem | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { path: [], message: 'a seccomp profile is a JSON object with "defaultAction"' };
  const p = value as Record<string, unknown>;
  if (p.defaultAction === undefined) return { path: [], message: 'a seccomp profile needs "defaultAction"' };
  const action = checkAction(p.defaultAction, ['defaultAction']);
  if (action) return action;
  if (p.defaultErrnoRet !== undefined && !isErrno(p.defaultErrnoRet)) return { path: ['defaultErrnoRet'], message: 'must be an errno number from 0 to 4095' };
  for (const key of ['flags', 'listenerPath'] as const) {
    const v = p[key];
    if (v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && !v.length)) return { path: [key], message: 'is not supported by devbox' };
  }
  if (p.architectures !== undefined && p.architectures !== null) {
    if (!isStringList(p.architectures)) return { path: ['architectures'], message: 'must be a list of SCMP_ARCH_ names' };
    const bad = (p.architectures as string[]).findIndex((a) => !ARCHES.includes(a));
    if (bad >= 0) return { path: ['architectures', bad], message: `unknown architecture ${JSON.stringify((p.architectures as string[])[bad])}` };
  }
  if (p.archMap !== undefined && p.archMap !== null) {
    if (p.architectures) return { path: ['archMap'], message: 'give either "architectures" or "archMap", not both' };
    if (!Array.isArray(p.archMap)) return { path: ['archMap'], message: 'must be a list' };
    for (const [i, entry] of (p.archMap as unknown[]).entries()) {
      const e = entry as Record<string, unknown>;
      const names = [e?.architecture, ...((e?.subArchitectures as unknown[] | null) ?? [])];
      const bad = names.findIndex((a) => typeof a !== 'string' || !ARCHES.includes(a));
      if (bad >= 0) return { path: ['archMap', i], message: `unknown architecture ${JSON.stringify(names[bad])}` };
    }
  }
  if (p.syscalls !== undefined && p.syscalls !== null) {
    if (!Array.isArray(p.syscalls)) return { path: ['syscalls'], message: 'must be a list' };
    for (const [i, rule] of (p.syscalls as unknown[]).entries()) {
      const problem = checkRule(rule, ['syscalls', i]);
      if (problem) return problem;
    }
  }
  return undefined;
}

function kernelAtLeast(version: string, kernel: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  const [kMajor, kMinor] = kernel.split('.').map((n) => Number.parseInt(n, 10));
  return kMajor > major || (kMajor === major && kMinor >= (minor || 0));
}

/** Whether a rule applies here, as Docker decides: excludes first, then includes, against arch, caps and kernel. */
function applies(rule: SeccompRule, arch: string, caps: readonly string[], kernel: string): boolean {
  const ex = rule.excludes;
  if (ex?.arches?.includes(arch)) return false;
  if (ex?.caps?.some((c) => caps.includes(c))) return false;
  if (ex?.minKernel && kernelAtLeast(ex.minKernel, kernel)) return false;
  const inc = rule.includes;
  if (inc?.arches?.length && !inc.arches.includes(arch)) return false;
  if (inc?.caps?.some((c) => !caps.includes(c))) return false;
  if (inc?.minKernel && !kernelAtLeast(inc.minKernel, kernel)) return false;
  return true;
}

function actionText(action: string, errnoRet: number | undefined): string {
  const word = ACTIONS[action];
  return word === 'errno' || word === 'trace' ? `${word}:${errnoRet ?? EPERM}` : word;
}

export interface SeccompContext {
  /** The sandbox's capabilities: rules with includes.caps or excludes.caps depend on them. */
  capabilities: readonly Capability[];
  /** Node's process.arch and os.release(); this machine's by default. */
  arch?: string;
  kernel?: string;
}

/** The ABIs the filter accepts: `architectures`, or this machine's archMap entry; none listed is the native one only. */
function arches(profile: SeccompProfile, hostArch: string): string[] {
  const listed =
    profile.architectures ?? profile.archMap?.filter((m) => m.architecture === hostArch).flatMap((m) => [m.architecture, ...(m.subArchitectures ?? [])]) ?? [];
  return listed.map((a) => a.replace(/^SCMP_ARCH_/, '').toLowerCase());
}

/** The helper's --seccomp program for a checked profile (checkSeccompProfile). */
export function compileSeccomp(profile: SeccompProfile, context: SeccompContext): string {
  const host = HOST_ARCHES[context.arch ?? process.arch] ?? { seccomp: '', go: context.arch ?? process.arch };
  const kernel = context.kernel ?? release();
  const lines = [`default ${actionText(profile.defaultAction, profile.defaultErrnoRet)}`];
  for (const arch of arches(profile, host.seccomp)) lines.push(`arch ${arch}`);
  for (const rule of profile.syscalls ?? []) {
    if (!applies(rule, host.go, context.capabilities, kernel)) continue;
    const names = (rule.names ?? (rule.name ? [rule.name] : [])).join(',');
    const action = actionText(rule.action, rule.errnoRet);
    const conditions = (rule.args ?? []).map((a) => `${a.index}:${OPERATORS[a.op]}:${a.value}:${a.valueTwo ?? 0}`);
    // Comparisons of one argument twice can only be alternatives: each becomes a rule of its own (as runc does).
    const indexes = (rule.args ?? []).map((a) => a.index);
    if (new Set(indexes).size < indexes.length) for (const condition of conditions) lines.push(`${action} ${names} ${condition}`);
    else lines.push([action, names, ...conditions].join(' '));
  }
  return lines.join('\n');
}
