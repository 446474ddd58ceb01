/** Name resolution inside a sandbox: its /etc/resolv.conf and the network's lines of its /etc/hosts. */
import { existsSync, readFileSync } from 'node:fs';
import type { NetworkOptions } from './options.js';
import { SLIRP_DNS, SLIRP_GATEWAY, SLIRP_GUEST } from './slirp4netns.js';

/** The host's resolver configuration, whose search domains and options a slirp4netns sandbox keeps. */
export function hostResolvConf(): string {
  return existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '';
}

/**
 * slirp4netns's resolver, which forwards to the host's own (a loopback one such as systemd-resolved's too,
 * even with the host's loopback hidden); the host's search domains and options still apply.
 */
export function slirpResolvConf(hostResolvConf: string): string {
  return resolvConfWith(SLIRP_DNS, hostResolvConf);
}

/** A devbox network's resolver, on its gateway (network/dns-server.ts); the host's search domains and options still apply. */
export function bridgeResolvConf(gateway: string, hostResolvConf: string): string {
  return resolvConfWith(gateway, hostResolvConf);
}

function resolvConfWith(nameserver: string, hostResolvConf: string): string {
  const kept = hostResolvConf.split('\n').filter((line) => /^(search|domain|options)\s/.test(line.trim()));
  return `${[`nameserver ${nameserver}`, ...kept.map((l) => l.trim())].join('\n')}\n`;
}

/** /etc/hosts lines for the sandbox's own name and, when the sandbox may reach it, the host (as Podman). */
export function networkHostsEntries(options: Pick<NetworkOptions, 'mode' | 'allowHostLoopback'>, hostname: string): string[] {
  if (options.mode !== 'slirp4netns') return [`127.0.1.1\t${hostname}`];
  return [`${SLIRP_GUEST}\t${hostname}`, ...(options.allowHostLoopback ? [`${SLIRP_GATEWAY}\thost.containers.internal host.docker.internal`] : [])];
}
