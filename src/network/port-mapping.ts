/**
 * `-p/--publish [HOSTIP:][HOSTPORT:]PORT[/tcp|udp]` as docker and podman write it. Unlike Docker, a published
 * port binds 127.0.0.1 unless a host address is given: a dev server is for this machine, not the LAN. Without
 * HOSTPORT (`-p 80`, `-p 127.0.0.1::80`, and every port of `-P`) a free host port is picked at each start.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { DevboxError } from '../util/errors.js';

export type Protocol = 'tcp' | 'udp';

export interface PortMapping {
  /** Address on the host: IPv4, or IPv6 (without brackets) for TCP. */
  hostIp: string;
  /** 0: a free port, picked when the container starts (publish.ts). */
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

export const DEFAULT_HOST_IP = '127.0.0.1';

const FORMAT = '[HOSTIP:][HOSTPORT:]PORT[/tcp|udp]';

function invalid(spec: string, reason: string): DevboxError {
  return new DevboxError(`invalid port mapping "${spec}": ${reason}`, { fix: `expected ${FORMAT}, e.g. -p 8080:80`, kind: 'usage' });
}

function parsePort(spec: string, text: string, what: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) throw invalid(spec, `${what} "${text}" is not a port number (1-65535)`);
  return port;
}

export function parsePortMapping(spec: string): PortMapping {
  const slash = spec.lastIndexOf('/');
  const protocol = slash < 0 ? 'tcp' : spec.slice(slash + 1);
  if (protocol !== 'tcp' && protocol !== 'udp') throw invalid(spec, `protocol "${protocol}" is not tcp or udp`);
  const ports = slash < 0 ? spec : spec.slice(0, slash);
  const colon = ports.lastIndexOf(':');
  const containerPort = parsePort(spec, ports.slice(colon + 1), 'container port');
  const hostPart = colon < 0 ? '' : ports.slice(0, colon);
  const ipColon = hostPart.lastIndexOf(':');
  const hostPortText = hostPart.slice(ipColon + 1);
  const hostPort = hostPortText === '' ? 0 : parsePort(spec, hostPortText, 'host port');
  let hostIp = ipColon < 0 ? DEFAULT_HOST_IP : hostPart.slice(0, ipColon);
  if (hostIp.startsWith('[') && hostIp.endsWith(']')) {
    // Docker's form for an IPv6 address: [::1]:8080:80.
    hostIp = hostIp.slice(1, -1);
    if (!isIPv6(hostIp)) throw invalid(spec, `host address "[${hostIp}]" is not an IPv6 address`);
    if (protocol === 'udp') throw invalid(spec, 'UDP ports are published on IPv4 host addresses only');
    return { hostIp, hostPort, containerPort, protocol };
  }
  if (hostIp === '') hostIp = DEFAULT_HOST_IP;
  if (!isIPv4(hostIp)) throw invalid(spec, `host address "${hostIp}" is not an IPv4 address (write an IPv6 one in brackets: [::1])`);
  return { hostIp, hostPort, containerPort, protocol };
}

/** `127.0.0.1:8080`, `[::1]:8080`: a host address and port as Docker writes them. */
export function formatHostPort(hostIp: string, hostPort: number): string {
  return hostIp.includes(':') ? `[${hostIp}]:${hostPort}` : `${hostIp}:${hostPort}`;
}

/** `127.0.0.1:8080->80/tcp`, as `docker ps` shows a published port. */
export function formatPortMapping(m: PortMapping): string {
  return `${formatHostPort(m.hostIp, m.hostPort)}->${m.containerPort}/${m.protocol}`;
}
