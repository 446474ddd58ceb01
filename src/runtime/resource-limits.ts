/**
 * docker's cgroup limits (-m/--memory, --memory-swap, --cpus, --cpu-shares, --pids-limit, --cpuset-cpus): their
 * values parsed as docker parses them, kept in docker's HostConfig names, and said in cgroup v2's files (the
 * kernel's Documentation/admin-guide/cgroup-v2.rst; the cpu.weight conversion is crun's). Where they are
 * written, and whether they can be, is cgroups.ts's.
 */
import { availableParallelism } from 'node:os';
import { usageError } from '../util/errors.js';

/** As docker's HostConfig has them; absent: not limited. */
export interface ResourceLimits {
  Memory?: number;
  /** Memory and swap together; -1: unlimited swap. */
  MemorySwap?: number;
  NanoCpus?: number;
  CpuShares?: number;
  /** -1: unlimited (docker takes 0 as unlimited too). */
  PidsLimit?: number;
  CpusetCpus?: string;
}

/** The options as given (strings from the command line). */
export interface LimitOptions {
  memory?: string;
  memorySwap?: string;
  cpus?: string;
  cpuShares?: string;
  pidsLimit?: string;
  cpusetCpus?: string;
}

/** The `run` option that sets each field, for messages. */
export const LIMIT_FLAGS: Record<keyof ResourceLimits, string> = {
  Memory: '--memory',
  MemorySwap: '--memory-swap',
  NanoCpus: '--cpus',
  CpuShares: '--cpu-shares',
  PidsLimit: '--pids-limit',
  CpusetCpus: '--cpuset-cpus',
};

/** The cgroup v2 controller each field needs. */
const CONTROLLERS: Record<keyof ResourceLimits, string> = {
  Memory: 'memory',
  MemorySwap: 'memory',
  NanoCpus: 'cpu',
  CpuShares: 'cpu',
  PidsLimit: 'pids',
  CpusetCpus: 'cpuset',
};

const MIN_MEMORY = 6 * 1024 * 1024;
const CPU_PERIOD = 100_000;

/** docker's RAMInBytes: a number with an optional binary unit (b, k, m, g, t, p; "kb", "KiB" too). */
export function parseBytes(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(text);
  if (!match) throw usageError(`${flag}: invalid size "${text}"`, 'write it as docker does, e.g. 512m or 1g');
  const power = match[2] ? 'kmgtp'.indexOf(match[2].toLowerCase()) + 1 : 0;
  return Math.floor(Number(match[1]) * 1024 ** power);
}

function wholeNumber(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || n < min || n > max)
    throw usageError(`${flag}: expected a whole number from ${min} to ${max}, not "${text}"`, `e.g. ${flag} ${Math.min(max, 1024)}`);
  return n;
}

/** Checks every value, as docker does before it creates anything. */
export function parseLimits(options: LimitOptions, cpus = availableParallelism()): ResourceLimits {
  const limits: ResourceLimits = {};
  if (options.memory !== undefined) {
    limits.Memory = parseBytes(options.memory, '--memory');
    if (limits.Memory < MIN_MEMORY) throw usageError(`--memory: ${options.memory} is below the minimum memory limit of 6MB`, 'give at least 6m');
  }
  if (options.memorySwap !== undefined) {
    if (limits.Memory === undefined)
      throw usageError('--memory-swap needs --memory: it is the memory and swap together', 'give -m too, e.g. -m 512m --memory-swap 1g');
    limits.MemorySwap = options.memorySwap === '-1' ? -1 : parseBytes(options.memorySwap, '--memory-swap');
    if (limits.MemorySwap !== -1 && limits.MemorySwap < limits.Memory)
      throw usageError('--memory-swap is below --memory: it is the memory and swap together', 'give it at least the --memory value, or -1 for unlimited swap');
  }
  if (options.cpus !== undefined) {
    const n = Number(options.cpus);
    if (!/^\d*\.?\d+$/.test(options.cpus)) throw usageError(`--cpus: expected a number of CPUs, not "${options.cpus}"`, 'e.g. --cpus 1.5');
    if (n < 0.01 || n > cpus)
      throw usageError(`--cpus: "${options.cpus}" is out of range: from 0.01 to ${cpus}, as there are ${cpus} CPUs here`, 'e.g. --cpus 1.5');
    limits.NanoCpus = Math.round(n * 1e9);
  }
  if (options.cpuShares !== undefined) limits.CpuShares = wholeNumber(options.cpuShares, '--cpu-shares', 2, 262144);
  if (options.pidsLimit !== undefined) {
    const n = wholeNumber(options.pidsLimit, '--pids-limit', -1, 4194304);
    limits.PidsLimit = n <= 0 ? -1 : n;
  }
  if (options.cpusetCpus !== undefined) {
    const ranges = options.cpusetCpus.split(',').map((part) => /^(\d+)(?:-(\d+))?$/.exec(part));
    const top = Math.max(...ranges.map((r) => (r ? Number(r[2] ?? r[1]) : Number.NaN)));
    if (ranges.some((r) => !r || (r[2] !== undefined && Number(r[2]) < Number(r[1]))) || !(top < cpus))
      throw usageError(`--cpuset-cpus: "${options.cpusetCpus}" is not a list of CPUs 0 to ${cpus - 1}`, 'e.g. --cpuset-cpus 0-1 or 0,2');
    limits.CpusetCpus = options.cpusetCpus;
  }
  return limits;
}

/** The `run` options given, for the warning where they cannot be applied. */
export function limitFlags(limits: ResourceLimits): string[] {
  return (Object.keys(limits) as (keyof ResourceLimits)[]).map((key) => LIMIT_FLAGS[key]);
}

/** The controllers the limits need. */
export function limitControllers(limits: ResourceLimits): string[] {
  return [...new Set((Object.keys(limits) as (keyof ResourceLimits)[]).map((key) => CONTROLLERS[key]))];
}

/** cgroup v2 interface files and what to write in them. */
export function cgroupV2Files(limits: ResourceLimits): [string, string][] {
  const files: [string, string][] = [];
  if (limits.Memory !== undefined) files.push(['memory.max', String(limits.Memory)]);
  if (limits.MemorySwap !== undefined) files.push(['memory.swap.max', limits.MemorySwap === -1 ? 'max' : String(limits.MemorySwap - (limits.Memory ?? 0))]);
  if (limits.NanoCpus !== undefined) files.push(['cpu.max', `${Math.max(1000, Math.round((limits.NanoCpus / 1e9) * CPU_PERIOD))} ${CPU_PERIOD}`]);
  if (limits.CpuShares !== undefined) files.push(['cpu.weight', String(1 + Math.floor(((limits.CpuShares - 2) * 9999) / 262142))]);
  if (limits.PidsLimit !== undefined) files.push(['pids.max', limits.PidsLimit === -1 ? 'max' : String(limits.PidsLimit)]);
  if (limits.CpusetCpus !== undefined) files.push(['cpuset.cpus', limits.CpusetCpus]);
  return files;
}
