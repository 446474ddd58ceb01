/**
 * `devbox run` options, parsed the way `docker run` does: options come before IMAGE, and everything after
 * IMAGE is the command, untouched (`devbox run img ls -la`). One table drives the parser and the help text.
 * Kept free of oclif so the hot path of `devbox run` does not load it.
 */
import { DevboxError } from '../util/errors.js';
import { STORAGE_DRIVERS, type StorageSetting } from '../settings/settings.js';
import { PULL_POLICIES, type PullPolicy } from '../registry/ensure.js';
import type { RunOptions } from '../sandbox/run-image.js';
import { MountSpecError, parseMountFlag, parseTmpfsFlag, parseVolumeFlag, type MountSpec } from '../volume/mount-spec.js';
import type { OptionDef } from './option-table.js';
import { securityFromFlags } from './security-options.js';

export type { RunOptions };

export const RUN_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'name', kind: 'string', helpValue: 'NAME', description: 'Name the container (default: a generated one, like brave_otter)' },
  { name: 'detach', char: 'd', kind: 'boolean', description: 'Run in the background and print the container id' },
  { name: 'rm', kind: 'boolean', description: 'Remove the container when it exits' },
  { name: 'label', char: 'l', kind: 'multiple', helpValue: 'KEY=VALUE', description: 'Set a label on the container (repeatable)' },
  { name: 'restart', kind: 'string', helpValue: 'POLICY', description: 'Restart policy: no (default), always, unless-stopped, on-failure[:N]' },
  { name: 'health-cmd', kind: 'string', helpValue: 'CMD', description: 'Command that checks the container is healthy (run with sh -c)' },
  { name: 'health-interval', kind: 'string', helpValue: 'DURATION', description: 'Time between health checks (default 30s)' },
  { name: 'health-timeout', kind: 'string', helpValue: 'DURATION', description: 'Longest a health check may take (default 30s)' },
  { name: 'health-start-period', kind: 'string', helpValue: 'DURATION', description: 'Time to start up, in which failed checks do not count' },
  { name: 'health-start-interval', kind: 'string', helpValue: 'DURATION', description: 'Time between checks in the start period (default 5s)' },
  { name: 'health-retries', kind: 'string', helpValue: 'N', description: 'Failed checks in a row that make it unhealthy (default 3)' },
  { name: 'no-healthcheck', kind: 'boolean', description: "Disable the image's HEALTHCHECK" },
  { name: 'stop-signal', kind: 'string', helpValue: 'SIGNAL', description: "Signal that stops the container (default: the image's, else SIGTERM)" },
  { name: 'stop-timeout', kind: 'string', helpValue: 'SECONDS', description: 'Seconds stop waits before it kills (default 10)' },
  { name: 'ulimit', kind: 'multiple', helpValue: 'NAME=SOFT[:HARD]', description: 'A resource limit (nofile, nproc, core, stack, …; -1: unlimited)' },
  {
    name: 'userns',
    kind: 'string',
    helpValue: 'host|keep-id[:uid=N,gid=N]',
    description:
      "User namespace: root inside is you (host), or you are yourself and the command's user (keep-id); default: you are yourself, root a subordinate id",
  },
  { name: 'memory', char: 'm', kind: 'string', helpValue: 'BYTES', description: 'Memory limit (512m, 1g; needs a delegated cgroup v2)' },
  { name: 'memory-swap', kind: 'string', helpValue: 'BYTES', description: 'Memory and swap together (-1: unlimited swap)' },
  { name: 'cpus', kind: 'string', helpValue: 'N', description: 'CPUs it may use (1.5: one and a half)' },
  { name: 'cpu-shares', char: 'c', kind: 'string', helpValue: 'N', description: 'Relative CPU weight (default 1024)' },
  { name: 'cpuset-cpus', kind: 'string', helpValue: 'LIST', description: 'CPUs it may run on (0-3, 0,1)' },
  { name: 'pids-limit', kind: 'string', helpValue: 'N', description: 'Most processes at once (-1: unlimited)' },
  {
    name: 'device',
    kind: 'multiple',
    helpValue: 'HOST[:CONTAINER][:PERMS]',
    description: "Add a host device, or a folder of them (bound from the host's /dev; one you can open, e.g. /dev/fuse, /dev/net/tun, /dev/kvm)",
  },
  { name: 'detach-keys', kind: 'string', helpValue: 'KEYS', description: 'Keys that detach from the container (default ctrl-p,ctrl-q)' },
  { name: 'interactive', char: 'i', kind: 'boolean', description: 'Keep STDIN open' },
  { name: 'tty', char: 't', kind: 'boolean', description: 'Allocate a pseudo-TTY' },
  {
    name: 'volume',
    char: 'v',
    kind: 'multiple',
    helpValue: '[SRC:]DST[:OPTS]',
    description: 'Mount a volume (NAME:DST, made on first use), an anonymous one (DST) or a host path (/SRC:DST); OPTS ro, nocopy, rslave',
  },
  {
    name: 'mount',
    kind: 'multiple',
    helpValue: 'type=bind|volume|tmpfs,src=…,dst=…[,readonly]',
    description: "Mount as docker's --mount (keys: source/src, destination/dst/target, readonly/ro, bind-propagation, volume-nocopy, tmpfs-size, tmpfs-mode)",
  },
  {
    name: 'volumes-from',
    kind: 'multiple',
    helpValue: 'CONTAINER[:ro|rw]',
    description: 'Mount the volumes and binds of another container where it mounts them (ro/rw: all of them so; default: as it has them)',
  },
  {
    name: 'tmpfs',
    kind: 'multiple',
    helpValue: 'DST[:OPTS]',
    description: 'Mount an empty tmpfs (default rw,noexec,nosuid,nodev; OPTS: size=64m, mode=1777, exec …)',
  },
  { name: 'env', char: 'e', kind: 'multiple', helpValue: 'KEY=VALUE', description: 'Set an environment variable (KEY alone: take it from the host)' },
  { name: 'workdir', char: 'w', kind: 'string', helpValue: 'DIR', description: 'Working directory inside the container' },
  { name: 'user', char: 'u', kind: 'string', helpValue: 'USER[:GROUP]', description: 'User name or uid (and group) to run as' },
  { name: 'hostname', char: 'h', kind: 'string', helpValue: 'NAME', description: 'Container host name' },
  { name: 'entrypoint', kind: 'string', helpValue: 'CMD', description: "Override the image's ENTRYPOINT" },
  {
    name: 'network',
    kind: 'multiple',
    helpValue: 'slirp4netns|host|none|NAME|container:NAME',
    description:
      'Network: an isolated one through slirp4netns (alias slirp; default: the "network" setting), the host\'s, none (loopback only), a devbox network by name (repeat for several), or another container\'s',
  },
  { name: 'add-host', kind: 'multiple', helpValue: 'NAME:ADDRESS', description: 'Add a line to /etc/hosts' },
  { name: 'dns', kind: 'multiple', helpValue: 'ADDRESS', description: 'A DNS server to use (on a devbox network: that its resolver asks)' },
  { name: 'dns-search', kind: 'multiple', helpValue: 'DOMAIN', description: "A DNS search domain (replaces the host's)" },
  { name: 'dns-option', kind: 'multiple', helpValue: 'OPTION', description: 'A resolv.conf option' },
  { name: 'network-alias', kind: 'multiple', helpValue: 'ALIAS', description: 'Another name the container answers to on its network' },
  {
    name: 'publish',
    char: 'p',
    kind: 'multiple',
    helpValue: '[HOSTIP:][HOSTPORT:]PORT[/tcp|udp]',
    description: "Publish a container's port on the host (HOSTIP default 127.0.0.1)",
  },
  { name: 'publish-all', char: 'P', kind: 'boolean', description: 'Publish every port the image EXPOSEs on a free host port' },

  { name: 'storage', kind: 'string', options: STORAGE_DRIVERS, description: 'Root file system backend (default: the "storage" setting, auto)' },
  { name: 'pull', kind: 'string', options: PULL_POLICIES, description: 'Pull the image: when missing (default), always, or never' },
  { name: 'platform', kind: 'string', helpValue: 'OS/ARCH[/VARIANT]', description: 'Platform to pull when the image is a multi-platform one' },
  { name: 'cap-add', kind: 'multiple', helpValue: 'CAP', description: "Add a capability to root's default set (NET_ADMIN, CAP_SYS_PTRACE, ALL…)" },
  { name: 'cap-drop', kind: 'multiple', helpValue: 'CAP', description: "Drop a capability from root's default set (ALL: every one)" },
  { name: 'privileged', kind: 'boolean', description: 'Every capability, no seccomp filter, no masked /proc and /sys paths' },
  {
    name: 'security-opt',
    kind: 'multiple',
    helpValue: 'OPT',
    description: 'seccomp=unconfined|PROFILE.json, no-new-privileges, systempaths=unconfined, unmask=ALL|PATH[:PATH…], mask=PATH[:PATH…]',
  },
];

const byName = new Map(RUN_OPTION_DEFS.map((d) => [d.name, d]));
const byChar = new Map(RUN_OPTION_DEFS.filter((d) => d.char).map((d) => [d.char!, d]));

function usage(message: string): DevboxError {
  return new DevboxError(message, { fix: 'see "devbox run --help"', kind: 'usage' });
}

/** -v, --mount and --tmpfs as one list; relative bind sources (`-v ./data:/data`) are relative to the current directory, as with Docker. */
function runMounts(volumes: readonly string[], mounts: readonly string[], tmpfs: readonly string[]): MountSpec[] {
  const context = { base: process.cwd() };
  const parse = <T>(spec: string, parser: (spec: string) => T, what: (spec: string) => string): T => {
    try {
      return parser(spec);
    } catch (error) {
      if (error instanceof MountSpecError) throw usage(`${what(spec)}: ${error.reason}`);
      throw error;
    }
  };
  return [
    ...volumes.map((v) =>
      parse(
        v,
        (spec) => parseVolumeFlag(spec, context),
        (spec) => `invalid volume specification "${spec}"`,
      ),
    ),
    ...mounts.map((m) =>
      parse(
        m,
        (spec) => parseMountFlag(spec, context),
        (spec) => `invalid argument "${spec}" for "--mount" flag`,
      ),
    ),
    ...tmpfs.map((t) => parse(t, parseTmpfsFlag, (spec) => `invalid argument "${spec}" for "--tmpfs" flag`)),
  ];
}

/** Parses the arguments after `run`; a seccomp profile named by --security-opt is read and checked. */
export function parseRunArgs(argv: readonly string[]): RunOptions {
  const values = new Map<string, string[] | boolean | string>();
  const set = (def: OptionDef, value: string | true) => {
    if (def.kind === 'boolean') {
      values.set(def.name, true);
      return;
    }
    const v = value as string;
    if (def.options && !def.options.includes(v)) throw usage(`--${def.name} must be one of ${def.options.join(', ')}, not "${v}"`);
    if (def.kind === 'multiple') values.set(def.name, [...((values.get(def.name) as string[]) ?? []), v]);
    else values.set(def.name, v);
  };
  let i = 0;
  const takeValue = (def: OptionDef, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    if (i + 1 >= argv.length) throw usage(`--${def.name} needs a value${def.helpValue ? ` (${def.helpValue})` : ''}`);
    return argv[++i];
  };
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const def = byName.get(name);
      if (!def) throw usage(`unknown option --${name}`);
      const inline = eq < 0 ? undefined : arg.slice(eq + 1);
      if (def.kind === 'boolean') {
        if (inline !== undefined && inline !== 'true' && inline !== 'false') throw usage(`--${name} takes no value`);
        if (inline !== 'false') set(def, true);
      } else set(def, takeValue(def, inline));
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // Grouped short options as in `-it`; a value may follow the last one (`-uroot`, `-u root`).
      for (let j = 1; j < arg.length; j++) {
        const def = byChar.get(arg[j]);
        if (!def) throw usage(`unknown option -${arg[j]}`);
        if (def.kind === 'boolean') {
          set(def, true);
          continue;
        }
        const rest = arg.slice(j + 1);
        set(def, takeValue(def, rest === '' ? undefined : rest.replace(/^=/, '')));
        break;
      }
      continue;
    }
    break;
  }
  if (i >= argv.length) throw usage('"devbox run" requires an IMAGE');
  const list = (name: string) => (values.get(name) as string[] | undefined) ?? [];
  const str = (name: string) => values.get(name) as string | undefined;
  return {
    name: str('name'),
    detach: values.get('detach') === true,
    detachKeys: str('detach-keys'),
    labels: list('label'),
    restart: str('restart'),
    health: {
      cmd: str('health-cmd'),
      interval: str('health-interval'),
      timeout: str('health-timeout'),
      startPeriod: str('health-start-period'),
      startInterval: str('health-start-interval'),
      retries: str('health-retries'),
      none: values.get('no-healthcheck') === true,
    },
    stopSignal: str('stop-signal'),
    stopTimeout: str('stop-timeout'),
    ulimits: list('ulimit'),
    userns: str('userns'),
    devices: list('device'),
    limits: {
      memory: str('memory'),
      memorySwap: str('memory-swap'),
      cpus: str('cpus'),
      cpuShares: str('cpu-shares'),
      cpusetCpus: str('cpuset-cpus'),
      pidsLimit: str('pids-limit'),
    },
    rm: values.get('rm') === true,
    interactive: values.get('interactive') === true,
    tty: values.get('tty') === true,
    mounts: runMounts(list('volume'), list('mount'), list('tmpfs')),
    volumesFrom: list('volumes-from'),
    env: list('env'),
    workdir: str('workdir'),
    user: str('user'),
    hostname: str('hostname'),
    entrypoint: str('entrypoint'),
    network: list('network')[0],
    moreNetworks: list('network').slice(1),
    networkAliases: list('network-alias'),
    names: { extraHosts: list('add-host'), dns: list('dns'), dnsSearch: list('dns-search'), dnsOptions: list('dns-option') },
    publish: list('publish'),
    publishAll: values.get('publish-all') === true,
    storage: str('storage') as StorageSetting | undefined,
    pull: (str('pull') as PullPolicy | undefined) ?? 'missing',
    platform: str('platform'),
    security: securityFromFlags({
      capAdd: list('cap-add'),
      capDrop: list('cap-drop'),
      securityOpt: list('security-opt'),
      privileged: values.get('privileged') === true,
    }),
    image: argv[i],
    command: argv.slice(i + 1),
  };
}
