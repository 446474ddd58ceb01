/**
 * Values of docker's container options, parsed the way docker parses them: restart policies, Go durations
 * (health check timings), detach keys, labels. Pure functions; each bad value is one usage error.
 */
import type { HealthConfig } from '../image/oci.js';
import type { UsernsRequest } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import type { HealthcheckConfig, RestartPolicy } from './records.js';

function usage(message: string, fix?: string): DevboxError {
  return new DevboxError(message, { fix, kind: 'usage' });
}

export function parseRestartPolicy(text: string): RestartPolicy {
  const match = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(text);
  if (!match || (match[2] !== undefined && match[1] !== 'on-failure')) {
    throw usage(`invalid restart policy "${text}"`, 'use no, always, unless-stopped or on-failure[:max-retries]');
  }
  return { name: match[1] as RestartPolicy['name'], maximumRetryCount: match[2] === undefined ? 0 : Number(match[2]) };
}

const UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("30s", "1m30s", "500ms") in milliseconds; `what` names the option in the message. */
export function parseDuration(text: string, what: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) {
    throw usage(`${what}: invalid duration "${text}"`, 'write it as Go does, e.g. 30s, 1m30s or 500ms');
  }
  return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * UNITS_MS[p[2]], 0));
}

/** Docker's --detach-keys: comma-separated keys, each a character or ctrl-<key>; returned as byte values. */
export function parseDetachKeys(text: string): number[] {
  const keys = text.split(',').map((key) => {
    if (key.length === 1) return key.charCodeAt(0);
    const ctrl = /^ctrl-([a-z@[\\\]^_])$/i.exec(key);
    if (ctrl) return ctrl[1].toUpperCase().charCodeAt(0) & 0x1f;
    throw usage(`invalid detach keys "${text}": "${key}" is neither a character nor ctrl-<key>`, 'e.g. --detach-keys ctrl-p,ctrl-q');
  });
  if (keys.length > 8) throw usage(`invalid detach keys "${text}": at most 8 keys`);
  return keys;
}

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** KEY=VALUE (or KEY alone, an empty value) as docker's --label takes it. */
export function parseLabels(specs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const key = eq < 0 ? spec : spec.slice(0, eq);
    if (!key) throw usage(`invalid label "${spec}"`, 'use --label KEY=VALUE');
    labels[key] = eq < 0 ? '' : spec.slice(eq + 1);
  }
  return labels;
}

/** The --health-* options as given; the image's HEALTHCHECK fills in what they leave out. */
export interface HealthOptions {
  cmd?: string;
  interval?: string;
  timeout?: string;
  startPeriod?: string;
  startInterval?: string;
  retries?: string;
  none: boolean;
}

/** Docker's defaults: every 30 s, 30 s to answer, 3 failures in a row, no start period (probes every 5 s in one). */
export function resolveHealthcheck(options: HealthOptions, image: HealthConfig | undefined): HealthcheckConfig | undefined {
  if (options.none) {
    if (options.cmd !== undefined) throw usage('--no-healthcheck conflicts with --health-cmd');
    return undefined;
  }
  const ns = (value: number | undefined) => (value ? value / 1e6 : undefined);
  const test = options.cmd !== undefined ? ['CMD-SHELL', options.cmd] : image?.Test;
  if (!test?.length || test[0] === 'NONE') return undefined;
  const duration = (text: string | undefined, what: string) => (text === undefined ? undefined : parseDuration(text, what));
  const retries = options.retries === undefined ? image?.Retries || 3 : Number(options.retries);
  if (!Number.isInteger(retries) || retries < 1) throw usage(`--health-retries: expected a whole number of at least 1, not "${options.retries}"`);
  return {
    test,
    interval: duration(options.interval, '--health-interval') ?? ns(image?.Interval) ?? 30_000,
    timeout: duration(options.timeout, '--health-timeout') ?? ns(image?.Timeout) ?? 30_000,
    startPeriod: duration(options.startPeriod, '--health-start-period') ?? ns(image?.StartPeriod) ?? 0,
    startInterval: duration(options.startInterval, '--health-start-interval') ?? ns(image?.StartInterval) ?? 5_000,
    retries,
  };
}

/** --userns: "" (the default map), host, keep-id[:uid=N][,gid=N], as podman spells them. */
export function parseUserns(text: string): UsernsRequest {
  if (text === '') return { mode: 'default' };
  if (text === 'host') return { mode: 'host' };
  const keepId = /^keep-id(?::(.*))?$/.exec(text);
  if (!keepId) throw usage(`unsupported --userns "${text}"`, 'use host (root inside is you) or keep-id[:uid=N,gid=N] (you are yourself inside)');
  const request: UsernsRequest & { mode: 'keep-id' } = { mode: 'keep-id' };
  for (const option of keepId[1] === undefined ? [] : keepId[1].split(',')) {
    const match = /^(uid|gid)=(\d+)$/.exec(option);
    if (!match || Number(match[2]) > 0xfffffffe)
      throw usage(`invalid --userns "${text}": "${option}" is not uid=N or gid=N`, 'e.g. --userns=keep-id:uid=1000,gid=1000');
    request[match[1] as 'uid' | 'gid'] = Number(match[2]);
  }
  return request;
}
