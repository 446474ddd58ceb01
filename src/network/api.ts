/**
 * Client of slirp4netns's API socket (slirp4netns(1), "API SOCKET"): one JSON request per connection, the
 * write side shut down after it, one JSON reply. Used by whichever process manages a sandbox's ports; the
 * socket lives in the container's directory.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DevboxError, describeError } from '../util/errors.js';
import type { Protocol } from './port-mapping.js';

export const API_SOCKET_NAME = 'slirp4netns.sock';

/** A host port forwarded to the sandbox's address (10.0.2.100). */
export interface HostForward {
  protocol: Protocol;
  hostIp: string;
  hostPort: number;
  guestPort: number;
}

/** slirp4netns answered the request with an error (its `desc`); a failed connection is a plain error. */
export class Slirp4netnsApiError extends Error {}

export class Slirp4netnsApi {
  /** `dir` holds the socket (named API_SOCKET_NAME). */
  constructor(readonly dir: string) {}

  /** Returns the forward's id, for removeHostForward. */
  async addHostForward(forward: HostForward): Promise<number> {
    const reply = (await this.request('add_hostfwd', {
      proto: forward.protocol,
      host_addr: forward.hostIp,
      host_port: forward.hostPort,
      guest_port: forward.guestPort,
    })) as { id: number };
    return reply.id;
  }

  async removeHostForward(id: number): Promise<void> {
    await this.request('remove_hostfwd', { id });
  }

  private async request(execute: string, args?: Record<string, unknown>): Promise<unknown> {
    const text = await this.exchange(JSON.stringify(args ? { execute, arguments: args } : { execute }));
    let reply: { return?: unknown; error?: { desc?: string } };
    try {
      reply = JSON.parse(text);
    } catch {
      throw new DevboxError(`slirp4netns API: unreadable reply to ${execute}: ${JSON.stringify(text.slice(0, 200))}`);
    }
    if (reply.error) throw new Slirp4netnsApiError(reply.error.desc ?? `${execute} failed`);
    return reply.return;
  }

  private exchange(request: string): Promise<string> {
    // A sockaddr_un path holds 107 bytes and a store path can be longer: connect through a descriptor of
    // the directory instead.
    const dirFd = openSync(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
    return new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(join(`/proc/self/fd/${dirFd}`, API_SOCKET_NAME));
      socket.on('connect', () => socket.end(request));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.on('error', (error) => reject(new DevboxError(`slirp4netns API: ${describeError(error)}`, { cause: error })));
    }).finally(() => closeSync(dirFd));
  }
}
