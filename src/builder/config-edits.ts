/**
 * How the instructions that only change the image's configuration change it, with Docker's rules (BuildKit's
 * dockerfile2llb dispatch functions): ENV replaces a variable in place or appends it, ENTRYPOINT drops an
 * inherited CMD, EXPOSE normalizes ports to `port/proto`, HEALTHCHECK durations are Go durations, WORKDIR
 * is relative to the previous one. Pure functions, unit-tested.
 */
import { constants } from 'node:os';
import { posix } from 'node:path';
import type { HealthConfig } from '../image/oci.js';
import type { CommandLine, HealthcheckOptions } from './instructions.js';
import { StepError } from './step-error.js';

/** The shell a shell-form command runs with when no SHELL instruction set one. */
export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** The argv of a command line: the exec form as is, the shell form through the image's shell. */
export function commandArgs(command: CommandLine, shell: readonly string[] | undefined): string[] {
  return 'exec' in command ? command.exec : [...(shell?.length ? shell : DEFAULT_SHELL), command.shell];
}

/** `KEY=value` list with `key` set: replaced where it is, else appended (Docker's addEnv). */
export function setEnv(env: readonly string[] | null | undefined, key: string, value: string): string[] {
  const list = [...(env ?? [])];
  const i = list.findIndex((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e) === key);
  if (i >= 0) list[i] = `${key}=${value}`;
  else list.push(`${key}=${value}`);
  return list;
}

/** EXPOSE arguments as ExposedPorts keys: `80` → `80/tcp`, `53/udp`, ranges `8000-8002` expanded. */
export function exposedPorts(ports: readonly string[]): string[] {
  const keys: string[] = [];
  for (const port of ports) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(port);
    if (!m) throw new StepError(`invalid port "${port}": expected PORT[/PROTO] or START-END[/PROTO]`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (start > 65535 || end > 65535 || end < start) throw new StepError(`invalid port range "${port}"`);
    const proto = (m[3] ?? 'tcp').toLowerCase();
    for (let p = start; p <= end; p++) keys.push(`${p}/${proto}`);
  }
  return keys;
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration (`30s`, `1m30s`, `500ms`) in nanoseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    matched = re.lastIndex;
  }
  if (!text || matched !== text.length) throw new StepError(`invalid duration "${text}" (examples: 30s, 1m30s, 500ms)`);
  return Math.round(total);
}

export function healthConfig(test: 'NONE' | CommandLine, options: HealthcheckOptions): HealthConfig {
  if (test === 'NONE') return { Test: ['NONE'] };
  const config: HealthConfig = { Test: 'exec' in test ? ['CMD', ...test.exec] : ['CMD-SHELL', test.shell] };
  const durations: [keyof HealthcheckOptions, 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval'][] = [
    ['interval', 'Interval'],
    ['timeout', 'Timeout'],
    ['startPeriod', 'StartPeriod'],
    ['startInterval', 'StartInterval'],
  ];
  for (const [option, field] of durations) {
    const value = options[option];
    if (value === undefined) continue;
    const ns = parseDuration(value);
    if (ns !== 0 && ns < 1e6) throw new StepError(`--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} cannot be less than 1ms`);
    if (ns) config[field] = ns;
  }
  if (options.retries !== undefined) {
    if (!/^\d+$/.test(options.retries)) throw new StepError(`--retries must be a number, not "${options.retries}"`);
    if (Number(options.retries)) config.Retries = Number(options.retries);
  }
  return config;
}

/** STOPSIGNAL takes a signal name (with or without SIG) or number. */
export function checkSignal(signal: string): void {
  if (/^\d+$/.test(signal)) {
    if (Number(signal) >= 1 && Number(signal) <= 64) return;
  } else {
    const name = signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`;
    if (name in constants.signals || /^SIGRTM(IN|AX)([+-]\d+)?$/.test(name)) return;
  }
  throw new StepError(`invalid signal "${signal}"`);
}

/** WORKDIR: relative to the current working directory, cleaned. */
export function workdirPath(current: string | undefined, path: string): string {
  return posix.resolve(current || '/', path);
}

/** A destination as Docker resolves it: relative to WORKDIR, a trailing slash (directory) kept. */
export function destinationPath(workdir: string | undefined, dest: string): string {
  const trailing = dest.endsWith('/') || dest === '.' || dest.endsWith('/.');
  const resolved = posix.resolve(workdir || '/', dest);
  return trailing && resolved !== '/' ? `${resolved}/` : resolved;
}

/** A list as Go's %q prints it (`["sh" "-c" "x"]`), the form Docker's history shows. */
export function goQuoted(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** COPY/ADD --chmod: an octal mode up to 7777. */
export function parseChmod(text: string): number {
  if (!/^[0-7]{1,4}$/.test(text)) throw new StepError(`invalid --chmod "${text}": give an octal mode from 0 to 7777`);
  return parseInt(text, 8);
}
