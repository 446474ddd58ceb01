/**
 * How a sandbox is networked: the typed NetworkOptions that `devbox run` flags, settings and project
 * config resolve to, checked before anything is created. See docs/networking.md.
 */
import { NETWORK_MODES, type NetworkMode, type Settings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';
import { customizesResolver, type NameOptions, resolveNameOptions } from './dns.js';
import { type NetworkAttachment, validateNetworkName } from './network-name.js';
import { formatPortMapping, parsePortMapping, type PortMapping } from './port-mapping.js';

export type { NetworkMode };

/** The program that links an isolated network namespace to the host's network. */
export type NetworkBackend = 'slirp4netns' | 'pasta';

export interface NetworkOptions {
  /** slirp4netns: a network namespace of its own behind user-mode NAT; host: the host's; none: loopback only. */
  mode: NetworkMode;
  /** The isolated network's outbound link when --network named it (pasta, slirp4netns); absent: the networkBackend setting's. */
  backend?: NetworkBackend;
  /** Host ports forwarded into the sandbox (slirp4netns only). */
  publish: PortMapping[];
  /** Forward each port a process inside starts listening on to the same host port, or the next free one. */
  autoForward: boolean;
  /** The host's 127.0.0.1 is reachable from inside as 10.0.2.2 (slirp4netns hides it by default). */
  allowHostLoopback: boolean;
  /** What a project says of its ports (devcontainer.json's portsAttributes): labels, ports not to auto-forward. */
  portAttributes?: PortAttributeRules;
  /** A devbox network to join (mode `none`: the sandbox's own namespace, given a veth into the network). */
  networks?: NetworkAttachment[];
  /** --network container:NAME: that container's network namespace (as given; mode `none`). */
  shareWith?: string;
  /** --add-host, --dns, --dns-search, --dns-option (absent: none given). */
  names?: NameOptions;
}

/** Attributes of a port range (from = to for one port); the first rule that holds a port applies, else `others`. */
export interface PortAttributeRule {
  from: number;
  to: number;
  label?: string;
  /** Not auto-forwarded (onAutoForward: ignore). */
  ignore?: boolean;
}

export interface PortAttributeRules {
  rules: PortAttributeRule[];
  others?: Omit<PortAttributeRule, 'from' | 'to'>;
}

/** The attributes that apply to a port. */
export function attributesOf(port: number, attributes: PortAttributeRules | undefined): Omit<PortAttributeRule, 'from' | 'to'> {
  const rule = attributes?.rules.find((r) => port >= r.from && port <= r.to);
  return rule ?? attributes?.others ?? {};
}

/** What a command line or project file asks for; anything left out comes from the user's settings. */
export interface NetworkRequest {
  network?: string;
  /** --network given again: more devbox networks, joined after the first (--network-alias is for the first, as Docker's). */
  moreNetworks?: readonly string[];
  networkAliases?: readonly string[];
  publish?: readonly string[];
  names?: Partial<NameOptions>;
}

const usage = (message: string, fix: string) => new DevboxError(message, { fix, kind: 'usage' });

/**
 * `host`, `none`, `slirp4netns` (alias `slirp`) and `pasta`, the isolated network through either program (as
 * Podman's), slirp4netns with Podman's `:allow_host_loopback=true|false`.
 */
export function parseNetwork(text: string): { mode: NetworkMode; backend?: NetworkBackend; allowHostLoopback?: boolean } {
  const [name, ...rest] = text.split(':');
  if (name === 'pasta') {
    if (rest.length) throw usage(`devbox passes no options to pasta ("${rest.join(':')}")`, 'write --network pasta');
    return { mode: 'slirp4netns', backend: 'pasta' };
  }
  const mode = name === 'slirp' ? 'slirp4netns' : name;
  if (!NETWORK_MODES.includes(mode as NetworkMode)) {
    throw usage(`unknown network "${text}"`, 'use slirp4netns (or slirp), pasta, host or none');
  }
  if (mode !== 'slirp4netns') {
    if (rest.length) throw usage(`network "${name}" takes no options ("${rest.join(':')}")`, `write --network ${name}`);
    return { mode: mode as NetworkMode };
  }
  let allowHostLoopback: boolean | undefined;
  for (const option of rest.length ? rest.join(':').split(',') : []) {
    const match = /^allow_host_loopback=(true|false)$/.exec(option);
    if (!match) throw usage(`unsupported slirp4netns option "${option}"`, 'devbox supports allow_host_loopback=true|false');
    allowHostLoopback = match[1] === 'true';
  }
  return { mode: 'slirp4netns', backend: 'slirp4netns', ...(allowHostLoopback === undefined ? {} : { allowHostLoopback }) };
}

/** Two mappings that bind the same host port, said in a sentence; undefined when there are none. */
export function hostPortClash(publish: readonly PortMapping[]): string | undefined {
  for (const [i, m] of publish.entries()) {
    if (m.hostPort === 0) continue; // a free port each
    // 0.0.0.0 overlaps every address, so it clashes with any other mapping of the same port.
    const clash = publish
      .slice(0, i)
      .find((o) => o.protocol === m.protocol && o.hostPort === m.hostPort && (o.hostIp === m.hostIp || o.hostIp === '0.0.0.0' || m.hostIp === '0.0.0.0'));
    if (clash) return `host port ${m.hostPort}/${m.protocol} is published twice (${formatPortMapping(clash)}, ${formatPortMapping(m)})`;
  }
  return undefined;
}

/** The network name in `--network NAME` when it names a devbox network rather than a mode; undefined otherwise. */
function networkName(text: string | undefined): string | undefined {
  if (text === undefined || text.startsWith('container:')) return undefined;
  const name = text.split(':')[0];
  return NETWORK_MODES.includes(name as NetworkMode) || name === 'slirp' || name === 'pasta' ? undefined : text;
}

export function resolveNetworkOptions(request: NetworkRequest, settings: Pick<Settings, 'network' | 'autoForward' | 'allowHostLoopback'>): NetworkOptions {
  const names = request.names ? resolveNameOptions(request.names) : undefined;
  const resolved = resolveNetwork(request, settings);
  if (names && (names.extraHosts.length || customizesResolver(names))) {
    if (resolved.shareWith)
      throw usage(
        '--add-host, --dns and --dns-search cannot be given with --network container:…',
        'the names are those of the container whose network it shares',
      );
    resolved.names = names;
  }
  return resolved;
}

function resolveNetwork(request: NetworkRequest, settings: Pick<Settings, 'network' | 'autoForward' | 'allowHostLoopback'>): NetworkOptions {
  const aliases = [...(request.networkAliases ?? [])];
  const name = networkName(request.network);
  const more = request.moreNetworks ?? [];
  for (const [i, other] of more.entries()) {
    if (!name || !networkName(other))
      throw usage(
        `--network ${networkName(other) ? request.network : other} cannot be given with other networks`,
        'only devbox networks (devbox network create) combine: give --network NAME once for each',
      );
    if (other === name || more.indexOf(other) !== i) throw usage(`--network ${other} is given twice`, 'give each network once');
  }
  if (aliases.length && !name) throw usage('--network-alias needs --network NAME', 'aliases are names on a devbox network (devbox network create)');
  if (name || request.network?.startsWith('container:')) {
    if (request.publish?.length && !name)
      throw usage('cannot publish ports with --network container:…', 'publish them on the container whose network it shares');
    // On a devbox network TCP ports are published by the helper's forwarder, straight into the container.
    const publish = (request.publish ?? []).map(parsePortMapping);
    const udp = publish.find((m) => m.protocol === 'udp');
    if (udp)
      throw usage(
        `cannot publish ${formatPortMapping(udp)} on network ${name}: UDP ports are published on slirp4netns only`,
        'publish TCP ports, or use --network slirp4netns',
      );
    const clash = hostPortClash(publish);
    if (clash) throw usage(clash, 'give each -p its own host port');
    const shareWith = name ? undefined : request.network!.slice('container:'.length);
    if (shareWith === '') throw usage('--network container: needs a container name or id', 'write --network container:NAME');
    return {
      mode: 'none',
      publish,
      autoForward: false,
      allowHostLoopback: false,
      ...(name
        ? { networks: [{ name: validateNetworkName(name), aliases }, ...more.map((other) => ({ name: validateNetworkName(other), aliases: [] }))] }
        : { shareWith }),
    };
  }
  const chosen = request.network === undefined ? { mode: settings.network } : parseNetwork(request.network);
  const publish = (request.publish ?? []).map(parsePortMapping);
  if (publish.length && chosen.mode !== 'slirp4netns') {
    throw usage(
      `cannot publish ports with network "${chosen.mode}"`,
      chosen.mode === 'host' ? 'the host network needs no -p: servers inside listen on the host already' : 'use --network slirp4netns',
    );
  }
  const clash = hostPortClash(publish);
  if (clash) throw usage(clash, 'give each -p its own host port');
  return {
    mode: chosen.mode,
    ...('backend' in chosen && chosen.backend ? { backend: chosen.backend } : {}),
    publish,
    autoForward: settings.autoForward,
    allowHostLoopback: chosen.allowHostLoopback ?? settings.allowHostLoopback,
  };
}
