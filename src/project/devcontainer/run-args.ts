/**
 * devcontainer.json's runArgs: `docker run` arguments. Those with a `devbox run` equivalent that means
 * something for a project sandbox are mapped onto the config (environment, mounts, published ports, network,
 * host name, user, capabilities); those that cannot apply to a sandbox that outlives a command (--rm, -it,
 * --name) change nothing; every other option is named in one warning and not applied.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseMountFlag, parseTmpfsFlag, parseVolumeFlag, type MountContext, type MountSpec } from '../../volume/mount-spec.js';
import { projectMount } from '../normalize.js';
import { parsePort, type Parsed } from '../ports.js';
import type { NetworkMode, PortMapping } from '../project-config.js';

/** docker run options that take a value (so `--device /dev/kvm` is one option, not two words). */
const VALUE_OPTIONS = new Set(
  (
    'add-host annotation attach blkio-weight blkio-weight-device cap-add cap-drop cgroup-parent cgroupns cidfile cpu-count cpu-percent ' +
    'cpu-period cpu-quota cpu-rt-period cpu-rt-runtime cpu-shares cpus cpuset-cpus cpuset-mems device device-cgroup-rule device-read-bps ' +
    'device-read-iops device-write-bps device-write-iops dns dns-option dns-search domainname entrypoint env env-file expose gpus group-add ' +
    'health-cmd health-interval health-retries health-start-period health-start-interval health-timeout hostname ip ip6 ipc isolation ' +
    'kernel-memory label label-file link link-local-ip log-driver log-opt mac-address memory memory-reservation memory-swap ' +
    'memory-swappiness mount name net network network-alias oom-score-adj pid pids-limit platform publish pull restart runtime ' +
    'security-opt shm-size stop-signal stop-timeout storage-opt sysctl tmpfs ulimit user userns uts volume volume-driver volumes-from workdir'
  ).split(' '),
);
const SHORT_OPTIONS: Record<string, string> = {
  e: 'env',
  v: 'volume',
  p: 'publish',
  u: 'user',
  h: 'hostname',
  w: 'workdir',
  l: 'label',
  m: 'memory',
  a: 'attach',
  c: 'cpu-shares',
  i: 'interactive',
  t: 'tty',
  d: 'detach',
  P: 'publish-all',
  q: 'quiet',
};
/** Options that make no sense for a sandbox entered many times, or whose effect devbox always has. */
const NO_EFFECT = new Set(['rm', 'interactive', 'tty', 'detach', 'name', 'label', 'workdir', 'init', 'pull', 'quiet', 'sig-proxy']);

export interface RunArgsResult {
  containerEnv: Record<string, string>;
  mounts: MountSpec[];
  ports: PortMapping[];
  network?: NetworkMode;
  hostname?: string;
  containerUser?: string;
  capAdd: string[];
  securityOpt: string[];
  init: boolean;
  privileged: boolean;
  /** Options devbox does not apply, as written (`--device`). */
  unsupported: string[];
  /** Values it cannot take: one line each, naming the option. */
  errors: string[];
}

/** KEY=VALUE lines of an --env-file (Docker's format: no quoting, # comments, KEY alone takes the host's). */
function readEnvFile(path: string, hostEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) {
      if (hostEnv[line] !== undefined) env[line] = hostEnv[line]!;
    } else env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

const NETWORKS: Record<string, NetworkMode> = { host: 'host', none: 'none', bridge: 'slirp4netns', default: 'slirp4netns', slirp4netns: 'slirp4netns' };

/** `context.base` resolves relative paths (--env-file, bind sources), as the reference implementation runs docker there. */
export function parseRunArgs(args: readonly string[], context: MountContext, hostEnv: NodeJS.ProcessEnv): RunArgsResult {
  const result: RunArgsResult = {
    containerEnv: {},
    mounts: [],
    ports: [],
    capAdd: [],
    securityOpt: [],
    init: false,
    privileged: false,
    unsupported: [],
    errors: [],
  };
  const take = <T>(option: string, parsed: Parsed<T>, add: (value: T) => void) => {
    if (parsed.ok) add(parsed.value);
    else result.errors.push(`--${option}: ${parsed.reason}`);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    let name: string;
    let value: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = arg.slice(2, eq < 0 ? undefined : eq);
      value = eq < 0 ? undefined : arg.slice(eq + 1);
    } else if (/^-[A-Za-z]/.test(arg)) {
      name = SHORT_OPTIONS[arg[1]] ?? arg.slice(1, 2);
      value = arg.length > 2 ? arg.slice(arg[2] === '=' ? 3 : 2) : undefined;
    } else {
      result.errors.push(`"${arg}" is not an option (runArgs holds docker run options only; the image is devcontainer.json's)`);
      continue;
    }
    if (name === 'net') name = 'network';
    if (VALUE_OPTIONS.has(name) && value === undefined) {
      value = args[++i];
      if (value === undefined) {
        result.errors.push(`--${name} needs a value`);
        break;
      }
    }
    switch (name) {
      case 'env': {
        const eq = value!.indexOf('=');
        if (eq > 0) result.containerEnv[value!.slice(0, eq)] = value!.slice(eq + 1);
        else if (hostEnv[value!] !== undefined) result.containerEnv[value!] = hostEnv[value!]!;
        break;
      }
      case 'env-file':
        try {
          Object.assign(result.containerEnv, readEnvFile(resolve(context.base, value!), hostEnv));
        } catch (error) {
          result.errors.push(`--env-file ${value}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error)}`);
        }
        break;
      case 'volume':
        take(name, projectMount(value!, context, parseVolumeFlag), (mount) => result.mounts.push(mount));
        break;
      case 'mount':
        take(name, projectMount(value!, context, parseMountFlag), (mount) => result.mounts.push(mount));
        break;
      case 'tmpfs':
        take(name, projectMount(value!, context, parseTmpfsFlag), (mount) => result.mounts.push(mount));
        break;
      case 'publish':
        take(name, parsePort(value!), (port) => result.ports.push(port));
        break;
      case 'network':
        if (NETWORKS[value!]) result.network = NETWORKS[value!];
        else result.errors.push(`--network ${value}: devbox sandboxes have the slirp4netns (bridge), host or none network`);
        break;
      case 'hostname':
        result.hostname = value;
        break;
      case 'user':
        result.containerUser = value;
        break;
      case 'cap-add':
        result.capAdd.push(value!);
        break;
      case 'security-opt':
        result.securityOpt.push(value!);
        break;
      case 'privileged':
        result.privileged = true;
        break;
      default:
        if (name === 'init') result.init = true;
        else if (!NO_EFFECT.has(name)) result.unsupported.push(`--${name}`);
    }
  }
  return result;
}
