/**
 * Sockets of a network namespace, read from /proc/<pid>/net/{tcp,tcp6,udp,udp6} (the kernel's own table:
 * no `ss` output to parse), and the process holding a socket, found through /proc/<pid>/fd.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import type { Protocol } from './port-mapping.js';

export interface SocketEntry {
  /** Local address as text: `0.0.0.0`, `127.0.0.1`, `::`, `::ffff:10.0.2.100`. */
  address: string;
  port: number;
  /** The kernel's TCP state number (TCP_LISTEN for a listening socket; unconnected UDP shows as TCP_CLOSE). */
  state: number;
  inode: number;
}

export const TCP_LISTEN = 0x0a;
export const TCP_CLOSE = 0x07;

/** The kernel prints each 32-bit word of the address in the machine's byte order. */
function decodeAddress(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  if (endianness() === 'LE') for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  const text = groups.join(':');
  if (text.startsWith('0:0:0:0:0:ffff:')) return `::ffff:${[...bytes.subarray(12)].join('.')}`;
  return text === '0:0:0:0:0:0:0:0' ? '::' : text.replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Parses one /proc/net/{tcp,udp}[6] table. */
export function parseSocketTable(text: string): SocketEntry[] {
  const entries: SocketEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const [address, port] = fields[1].split(':');
    entries.push({ address: decodeAddress(address), port: parseInt(port, 16), state: parseInt(fields[3], 16), inode: Number(fields[9]) });
  }
  return entries;
}

/** Bound sockets of the namespace `procNet` (e.g. /proc/123/net) for one protocol, IPv4 and IPv6. */
export function readSockets(procNet: string, protocol: Protocol): SocketEntry[] {
  const state = protocol === 'tcp' ? TCP_LISTEN : TCP_CLOSE;
  return [protocol, `${protocol}6`].flatMap((table) => {
    try {
      return parseSocketTable(readFileSync(join(procNet, table), 'utf8')).filter((e) => e.state === state);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && table.endsWith('6')) return []; // IPv6 disabled
      throw error;
    }
  });
}

/** The lowest port a process without CAP_NET_BIND_SERVICE may bind. */
export function unprivilegedPortStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
  } catch {
    return 1024; // the kernel's default
  }
}

export interface SocketOwner {
  pid: number;
  command: string;
}

/** The process holding socket `inode`, if it is one whose fds this user may read (its own processes). */
export function findSocketOwner(inode: number): SocketOwner | undefined {
  const link = `socket:[${inode}]`;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${name}/fd/${fd}`) !== link) continue;
        return { pid: Number(name), command: readFileSync(`/proc/${name}/comm`, 'utf8').trim() };
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}
