/**
 * Publishing -p mappings through slirp4netns. slirp4netns only says that its bind failed; devbox looks at
 * the host's socket tables to say why: which process holds the port, or that the port is privileged.
 */
import { createSocket } from 'node:dgram';
import { type AddressInfo, createServer } from 'node:net';
import { DevboxError } from '../util/errors.js';
import { Slirp4netnsApiError, type Slirp4netnsApi } from './api.js';
import { formatPortMapping, type PortMapping } from './port-mapping.js';
import { findSocketOwner, readSockets, unprivilegedPortStart } from './proc-net.js';

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** How the user would publish a container port on another host port, for error messages. */
export type OtherHostPort = (hostPort: number, containerPort: number) => string;
export const PUBLISH_FLAG: OtherHostPort = (hostPort, containerPort) => `-p ${hostPort}:${containerPort}`;

/** Why the host refused to bind the mapping's host port, as one DevboxError. */
function hostPortError(m: PortMapping, cause: Slirp4netnsApiError, otherHostPort: OtherHostPort): DevboxError {
  const where = `${m.hostIp}:${m.hostPort}/${m.protocol}`;
  const other = m.hostPort < 65535 ? m.hostPort + 1 : m.hostPort - 1;
  const fix = `stop it, or publish another host port: ${otherHostPort(other, m.containerPort)}`;
  const holder = readSockets('/proc/self/net', m.protocol).find(
    (s) => s.port === m.hostPort && (s.address === m.hostIp || s.address === `::ffff:${m.hostIp}` || WILDCARDS.has(s.address) || WILDCARDS.has(m.hostIp)),
  );
  if (holder) {
    const owner = findSocketOwner(holder.inode);
    const by = owner ? `${owner.command} (pid ${owner.pid})` : "another user's process";
    return new DevboxError(`host port ${where} is already in use by ${by}`, { fix });
  }
  const start = unprivilegedPortStart();
  if (m.hostPort < start && process.getuid!() !== 0) {
    return new DevboxError(`host port ${where} is privileged: only root may listen below ${start}`, {
      fix: `publish a port from ${start} up, e.g. ${otherHostPort(m.hostPort + 8000, m.containerPort)}`,
    });
  }
  return new DevboxError(`cannot publish ${formatPortMapping(m)}: slirp4netns: ${cause.message}`, {
    fix: `check that ${m.hostIp} is an address of this host`,
  });
}

/** A port on `hostIp` that the kernel says is free now: what -p PORT and -P publish on. */
export function freeHostPort(hostIp: string, protocol: PortMapping['protocol']): Promise<number> {
  return new Promise((resolve, reject) => {
    if (protocol === 'udp') {
      const socket = createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, hostIp, () => {
        const { port } = socket.address();
        socket.close(() => resolve(port));
      });
      return;
    }
    const server = createServer();
    server.once('error', reject);
    server.listen(0, hostIp, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** How many free ports are tried for one mapping without a host port before giving up: another process may take one first. */
const FREE_PORT_TRIES = 5;

/** Publishes every mapping; those without a host port get a free one. Returns the mappings as published. */
export async function publishPorts(api: Slirp4netnsApi, mappings: readonly PortMapping[], otherHostPort = PUBLISH_FLAG): Promise<PortMapping[]> {
  const published: PortMapping[] = [];
  for (const m of mappings) {
    for (let attempt = 1; ; attempt++) {
      const mapping = m.hostPort === 0 ? { ...m, hostPort: await freeHostPort(m.hostIp, m.protocol) } : m;
      try {
        await api.addHostForward({ protocol: mapping.protocol, hostIp: mapping.hostIp, hostPort: mapping.hostPort, guestPort: mapping.containerPort });
        published.push(mapping);
        break;
      } catch (error) {
        // Between our probe and slirp4netns's bind another process took the port: pick another.
        if (m.hostPort === 0 && attempt < FREE_PORT_TRIES && error instanceof Slirp4netnsApiError) continue;
        throw error instanceof Slirp4netnsApiError ? hostPortError(mapping, error, otherHostPort) : error;
      }
    }
  }
  return published;
}
