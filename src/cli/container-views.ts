/**
 * Containers as docker shows them: the rows of `ps` (and their --format fields) and the JSON of `inspect`,
 * in docker's shapes and spellings, built from the records (container/records.ts).
 */
import { type Container, isRunning } from '../container/lookup.js';
import { givenBinds, type ContainerRecord } from '../container/records.js';
import { formatPortMapping, type PortMapping } from '../network/port-mapping.js';
import { publishedPorts, readJoinedNetworks } from '../sandbox/containers.js';

/** The network mode as podman names it: pasta when pasta is the isolated network's link. */
function networkModeName(network: Pick<ContainerRecord['network'], 'mode' | 'backend'>): string {
  return network.mode === 'slirp4netns' && network.backend === 'pasta' ? 'pasta' : network.mode;
}

/** docker's units.HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.round(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.round(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.round(h / 24 / 30)} months`;
  return `${Math.round(h / 24 / 365)} years`;
}

/** ps's STATUS: "Up 5 minutes (healthy)", "Exited (3) 2 minutes ago", "Restarting (1) 1 second ago", "Created". */
export function statusText(container: Container, now = Date.now()): string {
  const { state } = container;
  const since = (iso: string) => humanDuration(now - Date.parse(iso));
  switch (state.status) {
    case 'running': {
      const health = state.health ? (state.health.status === 'starting' ? ' (health: starting)' : ` (${state.health.status})`) : '';
      return `Up ${since(state.startedAt)}${health}`;
    }
    case 'restarting':
      return `Restarting (${state.exitCode}) ${since(state.finishedAt)} ago`;
    case 'exited':
      return state.finishedAt ? `Exited (${state.exitCode}) ${since(state.finishedAt)} ago` : `Exited (${state.exitCode})`;
    default:
      return 'Created';
  }
}

function quoteCommand(record: ContainerRecord): string {
  return record.process.args.join(' ');
}

function portsText(container: Container): string {
  return publishedPorts(container.dir, isRunning(container), container.config.network.publish)
    .map((p) => formatPortMapping(p))
    .join(', ');
}

/** Go's time.Time string, as docker's ps {{.CreatedAt}} shows it. */
function goTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

/** A ps row: the fields of docker's --format, and its Label method. */
export interface PsItem {
  ID: string;
  Image: string;
  Command: string;
  CreatedAt: string;
  RunningFor: string;
  Ports: string;
  State: string;
  Status: string;
  Size: string;
  Names: string;
  Labels: string;
  Mounts: string;
  Networks: string;
  Label(key: string): string;
}

export function psItem(container: Container, imageName: string, options: { noTrunc: boolean; size?: string }, now = Date.now()): PsItem {
  const { config } = container;
  const command = quoteCommand(config);
  const labels = config.labels;
  return {
    ID: options.noTrunc ? container.id : container.id.slice(0, 12),
    Image: imageName,
    Command: `"${options.noTrunc || command.length <= 20 ? command : `${command.slice(0, 19)}…`}"`,
    CreatedAt: goTime(config.created),
    RunningFor: `${humanDuration(now - Date.parse(config.created))} ago`,
    Ports: portsText(container),
    State: container.state.status,
    Status: statusText(container, now),
    Size: options.size ?? '',
    Names: config.name,
    Labels: Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    // As docker ps: a volume by its name, a bind by its host path.
    Mounts: givenBinds(config, container.dir)
      .map((m) => config.volumes.find((v) => v.destination === m.destination)?.name ?? m.source)
      .join(','),
    Networks: config.network.networks?.map((n) => n.name).join(',') ?? config.network.mode,
    Label: (key: string) => labels[key] ?? '',
  };
}

export const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  Networks: 'NETWORKS',
};

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** docker inspect's JSON for a container: the parts docker users read (State, Config, HostConfig, Mounts, ports). */
export function inspectContainer(container: Container, imageName: string): Record<string, unknown> {
  const { config, state } = container;
  const ns = (ms: number) => ms * 1e6;
  const portKey = (p: { containerPort: number; protocol: string }) => `${p.containerPort}/${p.protocol}`;
  const byPort = (mappings: readonly PortMapping[]) => {
    const ports: Record<string, { HostIp: string; HostPort: string }[]> = {};
    // A port published without a host port has none in the configuration (Docker's ""), and the one picked at start while it runs.
    for (const p of mappings) ports[portKey(p)] = [...(ports[portKey(p)] ?? []), { HostIp: p.hostIp, HostPort: p.hostPort ? String(p.hostPort) : '' }];
    return ports;
  };
  const bindings = byPort(config.network.publish);
  const ports = byPort(publishedPorts(container.dir, isRunning(container), config.network.publish));
  return {
    Id: container.id,
    Created: config.created,
    Path: config.process.args[0],
    Args: config.process.args.slice(1),
    State: {
      Status: state.status,
      Running: isRunning(container),
      Paused: false,
      Restarting: state.status === 'restarting',
      OOMKilled: false,
      Dead: false,
      Pid: state.pid,
      ExitCode: state.exitCode,
      Error: state.error ?? '',
      StartedAt: state.startedAt || ZERO_TIME,
      FinishedAt: state.finishedAt || ZERO_TIME,
      ...(state.health
        ? {
            Health: {
              Status: state.health.status,
              FailingStreak: state.health.failingStreak,
              Log: state.health.log.map((l) => ({ Start: l.start, End: l.end, ExitCode: l.exitCode, Output: l.output })),
            },
          }
        : {}),
    },
    Image: config.image,
    Name: `/${config.name}`,
    RestartCount: state.restartCount,
    Driver: config.storage === 'copy' ? 'vfs' : 'overlay',
    Mounts: [
      ...givenBinds(config, container.dir).map((m) => {
        const volume = config.volumes.find((v) => v.destination === m.destination);
        return volume
          ? {
              Type: 'volume',
              Name: volume.name,
              Source: m.source,
              Destination: m.destination,
              Driver: 'local',
              Mode: m.readonly ? 'ro' : '',
              RW: !m.readonly,
              Propagation: '',
            }
          : {
              Type: 'bind',
              Source: m.source,
              Destination: m.destination,
              Mode: m.readonly ? 'ro' : '',
              RW: !m.readonly,
              Propagation: m.propagation ?? 'rprivate',
            };
      }),
      ...config.tmpfs.map((t) => ({ Type: 'tmpfs', Source: '', Destination: t.destination, Mode: '', RW: !t.options.includes('ro'), Propagation: '' })),
    ],
    Config: {
      Hostname: config.hostname,
      User: config.user,
      Tty: config.process.terminal,
      OpenStdin: config.interactive,
      Env: config.process.env,
      Cmd: config.cmd,
      Entrypoint: config.entrypoint.length ? config.entrypoint : null,
      Image: imageName,
      WorkingDir: config.process.cwd,
      Labels: config.labels,
      StopSignal: config.stopSignal,
      StopTimeout: config.stopTimeout,
      ...(config.healthcheck
        ? {
            Healthcheck: {
              Test: config.healthcheck.test,
              Interval: ns(config.healthcheck.interval),
              Timeout: ns(config.healthcheck.timeout),
              StartPeriod: ns(config.healthcheck.startPeriod),
              StartInterval: ns(config.healthcheck.startInterval),
              Retries: config.healthcheck.retries,
            },
          }
        : {}),
    },
    HostConfig: {
      Binds: givenBinds(config, container.dir).map((m) => {
        const volume = config.volumes.find((v) => v.destination === m.destination);
        return `${volume && !volume.anonymous ? volume.name : m.source}:${m.destination}${m.readonly ? ':ro' : ''}`;
      }),
      NetworkMode: config.network.networks?.[0]?.name ?? (config.network.shareWith ? `container:${config.network.shareWith}` : networkModeName(config.network)),
      PortBindings: bindings,
      RestartPolicy: { Name: config.restartPolicy.name, MaximumRetryCount: config.restartPolicy.maximumRetryCount },
      AutoRemove: config.autoRemove,
      UsernsMode: config.userns,
      Tmpfs: Object.fromEntries(config.tmpfs.map((t) => [t.destination, t.options.join(',')])),
      Ulimits: config.process.rlimits ?? [],
      Devices: config.devices ?? [],
      // docker's zero values for what was not limited
      Memory: config.resources?.Memory ?? 0,
      MemorySwap: config.resources?.MemorySwap ?? 0,
      NanoCpus: config.resources?.NanoCpus ?? 0,
      CpuShares: config.resources?.CpuShares ?? 0,
      CpusetCpus: config.resources?.CpusetCpus ?? '',
      PidsLimit: config.resources?.PidsLimit ?? null,
    },
    NetworkSettings: { Ports: ports, Networks: networksOf(container) },
  };
}

/** NetworkSettings.Networks: each devbox network the container is on, with its address there while it runs. */
function networksOf(container: Container): Record<string, unknown> {
  const joined = isRunning(container) ? readJoinedNetworks(container.dir) : {};
  return Object.fromEntries(
    (container.config.network.networks ?? []).map((n) => {
      const at = joined[n.name];
      return [
        n.name,
        {
          Aliases: n.aliases,
          IPAddress: at?.address ?? '',
          IPPrefixLen: at?.prefix ?? 0,
          Gateway: at?.gateway ?? '',
          GlobalIPv6Address: at?.address6 ?? '',
          GlobalIPv6PrefixLen: at?.prefix6 ?? 0,
          IPv6Gateway: at?.gateway6 ?? '',
        },
      ];
    }),
  );
}
