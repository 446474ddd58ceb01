/**
 * Published ports as `docker run -p` writes them: [IP:][HOST:]CONTAINER[/PROTO], or a bare number.
 * One difference, on purpose: a single port publishes the same number on the host (like devcontainer.json's
 * forwardPorts), where Docker would pick a random host port nobody can find while developing.
 */
import { isIP } from 'node:net';
import type { PortMapping } from './project-config.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const PORT_SPEC = /^(?:(\[[0-9A-Fa-f:.]+\]|[0-9]+(?:\.[0-9]+){3}):)?(?:([0-9]+):)?([0-9]+)(?:\/(tcp|udp))?$/;

function portNumber(text: string): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

export function parsePort(spec: string | number): Parsed<PortMapping> {
  if (typeof spec === 'number') {
    const port = portNumber(String(spec));
    return port ? { ok: true, value: { hostPort: port, containerPort: port, protocol: 'tcp' } } : { ok: false, reason: 'a port is from 1 to 65535' };
  }
  const match = PORT_SPEC.exec(spec);
  if (!match) return { ok: false, reason: 'expected [IP:][HOST_PORT:]PORT[/tcp|udp]' };
  const [, ip, host, container, protocol] = match;
  const hostIp = ip?.replace(/^\[(.*)\]$/, '$1');
  if (hostIp !== undefined && !isIP(hostIp)) return { ok: false, reason: `"${hostIp}" is not an IP address` };
  const containerPort = portNumber(container);
  const hostPort = host === undefined ? containerPort : portNumber(host);
  if (!containerPort || !hostPort) return { ok: false, reason: 'a port is from 1 to 65535' };
  return { ok: true, value: { ...(hostIp ? { hostIp } : {}), hostPort, containerPort, protocol: (protocol as 'tcp' | 'udp' | undefined) ?? 'tcp' } };
}
