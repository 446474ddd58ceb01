/**
 * Publishing -p mappings: TCP through the helper's port forwarder (runtime/port-forwarder.ts, spliced into the
 * sandbox's namespace, several times slirp4netns's throughput), UDP through slirp4netns's API. Neither says
 * more than that a bind failed; devbox looks at the host's socket tables to say why: which process holds the
 * port, or that the port is privileged.
 */
import { createSocket } from 'node:dgram';
import { type AddressInfo, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { HostPortRefused, startPortForwarder, type PortForwarderProcess } from '../runtime/port-forwarder.js';
import { DevboxError } from '../util/errors.js';
import { Slirp4netnsApiError, type Slirp4netnsApi } from './api.js';
import { formatHostPort, formatPortMapping, type PortMapping } from './port-mapping.js';
import { findSocketOwner, readSockets, unprivilegedPortStart } from './proc-net.js';

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** How the user would publish a container port on another host port, for error messages. */
export type OtherHostPort = (hostPort: number, containerPort: number) => string;
export const PUBLISH_FLAG: OtherHostPort = (hostPort, containerPort) => `-p ${hostPort}:${containerPort}`;

/** Why the host refused to bind the mapping's host port, as one DevboxError. */
function hostPortError(m: PortMapping, cause: string, otherHostPort: OtherHostPort): DevboxError {
  const where = `${formatHostPort(m.hostIp, m.hostPort)}/${m.protocol}`;
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
  return new DevboxError(`cannot publish ${formatPortMapping(m)}: ${cause}`, {
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

/** Where the forwards go: the sandbox (its pid 1 and lifetime socket), its directory, and whether they outlive us. */
export interface PublishTarget {
  sandbox: { pid: number; lifetime: Socket };
  dir: string;
  detached: boolean;
  /** slirp4netns's API, for UDP; none on a devbox network, where UDP cannot be published. */
  api?: Slirp4netnsApi;
}

export interface Published {
  /** The mappings as published: those that had no host port have the one picked. */
  mappings: PortMapping[];
  /** The TCP forwarder, when there are TCP mappings: it ends with the sandbox. */
  forwarder?: PortForwarderProcess;
}

/** The mapping with a free host port picked when it has none. */
async function withHostPort(m: PortMapping): Promise<PortMapping> {
  return m.hostPort === 0 ? { ...m, hostPort: await freeHostPort(m.hostIp, m.protocol) } : m;
}

/** The TCP mappings through one forwarder; a picked port another process took meanwhile is picked again. */
async function forwardTcp(target: PublishTarget, mappings: readonly PortMapping[], otherHostPort: OtherHostPort): Promise<Published> {
  for (let attempt = 1; ; attempt++) {
    const picked: PortMapping[] = [];
    for (const m of mappings) picked.push(await withHostPort(m));
    try {
      const forwarder = await startPortForwarder(target.sandbox, picked, target.dir, target.detached);
      return { mappings: picked, forwarder };
    } catch (error) {
      if (!(error instanceof HostPortRefused)) throw error;
      const i = picked.findIndex((m) => m.hostPort === error.hostPort && m.hostIp === error.hostIp);
      if (i >= 0 && mappings[i].hostPort === 0 && attempt < FREE_PORT_TRIES) continue;
      throw hostPortError(picked[Math.max(i, 0)], error.message, otherHostPort);
    }
  }
}

/** Publishes every mapping; those without a host port get a free one. On failure nothing stays published. */
export async function publishPorts(target: PublishTarget, mappings: readonly PortMapping[], otherHostPort = PUBLISH_FLAG): Promise<Published> {
  const tcp = mappings.filter((m) => m.protocol === 'tcp');
  const { mappings: tcpPublished, forwarder } = tcp.length ? await forwardTcp(target, tcp, otherHostPort) : { mappings: [] };
  const udpPublished: PortMapping[] = [];
  try {
    for (const m of mappings.filter((m) => m.protocol === 'udp')) udpPublished.push(await forwardUdp(target, m, otherHostPort));
  } catch (error) {
    forwarder?.kill();
    await forwarder?.exited;
    throw error;
  }
  // In the order given.
  return { mappings: mappings.map((m) => (m.protocol === 'tcp' ? tcpPublished.shift()! : udpPublished.shift()!)), forwarder };
}

async function forwardUdp(target: PublishTarget, m: PortMapping, otherHostPort: OtherHostPort): Promise<PortMapping> {
  if (!target.api)
    throw new DevboxError(`cannot publish ${formatPortMapping(m)}: UDP ports are published through slirp4netns only`, {
      fix: 'publish TCP ports, or run the container on slirp4netns',
    });
  for (let attempt = 1; ; attempt++) {
    const mapping = await withHostPort(m);
    try {
      await target.api.addHostForward({ protocol: mapping.protocol, hostIp: mapping.hostIp, hostPort: mapping.hostPort, guestPort: mapping.containerPort });
      return mapping;
    } catch (error) {
      // Between our probe and slirp4netns's bind another process took the port: pick another.
      if (m.hostPort === 0 && attempt < FREE_PORT_TRIES && error instanceof Slirp4netnsApiError) continue;
      throw error instanceof Slirp4netnsApiError ? hostPortError(mapping, `slirp4netns: ${error.message}`, otherHostPort) : error;
    }
  }
}
