/** Name resolution inside a sandbox: its /etc/resolv.conf and the network's lines of its /etc/hosts. */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { usageError } from '../util/errors.js';
import type { NetworkMode } from '../settings/settings.js';
import { SLIRP_DNS, SLIRP_GATEWAY, SLIRP_GUEST } from './slirp4netns.js';

/** The host's resolver configuration, whose search domains and options a slirp4netns sandbox keeps. */
export function hostResolvConf(): string {
  return existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '';
}

/**
 * slirp4netns's resolver, which forwards to the host's own (a loopback one such as systemd-resolved's too,
 * even with the host's loopback hidden); the host's search domains and options still apply.
 */
export function slirpResolvConf(hostResolvConf: string, names: NameOptions = NO_NAME_OPTIONS): string {
  return resolvConfWith(names.dns.length ? names.dns : [SLIRP_DNS], hostResolvConf, names);
}

/**
 * A devbox network's resolver, on its gateway (network/dns-server.ts): it answers the network's names and
 * asks --dns servers, when given, for the rest. The host's search domains and options apply unless replaced.
 */
export function bridgeResolvConf(gateway: string, hostResolvConf: string, names: NameOptions = NO_NAME_OPTIONS): string {
  return resolvConfWith([gateway], hostResolvConf, names);
}

function resolvConfWith(nameservers: readonly string[], hostResolvConf: string, names: NameOptions): string {
  const lines = hostResolvConf.split('\n').map((l) => l.trim());
  const search = names.dnsSearch.length ? [`search ${names.dnsSearch.join(' ')}`] : lines.filter((l) => /^(search|domain)\s/.test(l));
  const options = [...lines.filter((l) => /^options\s/.test(l)), ...(names.dnsOptions.length ? [`options ${names.dnsOptions.join(' ')}`] : [])];
  return `${[...nameservers.map((n) => `nameserver ${n}`), ...search, ...options].join('\n')}\n`;
}

/** --add-host, --dns, --dns-search, --dns-option as given (Docker's HostConfig.ExtraHosts, Dns, DnsSearch, DnsOptions). */
export interface NameOptions {
  /** NAME:ADDRESS, as Docker records them. */
  extraHosts: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
}

export const NO_NAME_OPTIONS: NameOptions = { extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [] };

/** Checks each option as Docker does; --add-host takes NAME:ADDRESS or NAME=ADDRESS. */
export function resolveNameOptions(given: Partial<NameOptions>): NameOptions {
  const extraHosts = (given.extraHosts ?? []).map((spec) => {
    const match = /^([^:=\s]+)[:=](.+)$/.exec(spec);
    const address = match?.[2].replace(/^\[(.*)\]$/, '$1');
    if (!match || !address || !isIP(address)) throw usageError(`invalid --add-host "${spec}"`, 'write NAME:ADDRESS, e.g. --add-host db.local:10.0.2.2');
    return `${match[1]}:${address}`;
  });
  const dns = given.dns ?? [];
  for (const server of dns) if (!isIP(server)) throw usageError(`invalid --dns "${server}": not an IP address`, 'give the address of a DNS server');
  return { extraHosts, dns, dnsSearch: given.dnsSearch ?? [], dnsOptions: given.dnsOptions ?? [] };
}

/** /etc/hosts lines of --add-host. */
export function extraHostsEntries(extraHosts: readonly string[]): string[] {
  return extraHosts.map((entry) => {
    const colon = entry.indexOf(':');
    return `${entry.slice(colon + 1)}\t${entry.slice(0, colon)}`;
  });
}

/** The host's resolvers with the sandbox's --dns, --dns-search and --dns-option (networks host and none). */
export function hostResolvConfWith(hostResolvConf: string, names: NameOptions): string {
  const servers = hostResolvConf
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
  return resolvConfWith(names.dns.length ? names.dns : servers, hostResolvConf, names);
}

/** Whether the sandbox needs a resolv.conf of its own even without a resolver of its own (host, none). */
export function customizesResolver(names: NameOptions): boolean {
  return names.dns.length > 0 || names.dnsSearch.length > 0 || names.dnsOptions.length > 0;
}

/** /etc/hosts lines for the sandbox's own name and, when the sandbox may reach it, the host (as Podman). */
export function networkHostsEntries(options: { mode: NetworkMode; allowHostLoopback: boolean }, hostname: string): string[] {
  if (options.mode !== 'slirp4netns') return [`127.0.1.1\t${hostname}`];
  return [`${SLIRP_GUEST}\t${hostname}`, ...(options.allowHostLoopback ? [`${SLIRP_GATEWAY}\thost.containers.internal host.docker.internal`] : [])];
}
