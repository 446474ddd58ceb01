/**
 * The embedded resolver of a devbox network, run by its holder on the gateway address (port 53, UDP): it
 * answers A (and on a --ipv6 network AAAA) queries for the names of the containers on the network (their names and aliases) and passes
 * every other query, byte for byte, to the outbound link's resolver (slirp4netns's 10.0.2.3, which asks the
 * host's). An internal network has no outbound link: other names get REFUSED. Only the header and the
 * question are read, so no DNS library is loaded for it.
 */
import { createSocket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import { ipv6ToBigInt } from './subnet6.js';

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const RCODE_REFUSED = 5;
/** How long a forwarded query waits for the upstream reply before it is forgotten (the client retries). */
const FORWARD_TIMEOUT_MS = 5000;

export interface Question {
  name: string;
  type: number;
  class: number;
  /** Offset just past the question. */
  end: number;
}

/** The first question of a query, or undefined when the packet is not one devbox can read. */
export function readQuestion(packet: Buffer): Question | undefined {
  if (packet.length < 12 || packet.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let offset = 12;
  for (;;) {
    if (offset >= packet.length) return undefined;
    const length = packet[offset];
    if (length === 0) break;
    if (length > 63 || offset + 1 + length > packet.length) return undefined; // compression never appears in a question
    labels.push(packet.toString('latin1', offset + 1, offset + 1 + length));
    offset += 1 + length;
  }
  offset += 1;
  if (offset + 4 > packet.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: packet.readUInt16BE(offset), class: packet.readUInt16BE(offset + 2), end: offset + 4 };
}

/** A reply to `query` with its question and `addresses` as A or AAAA records (none: `rcode`, or an empty answer). */
export function answer(query: Buffer, question: Question, addresses: readonly string[], rcode = 0): Buffer {
  const header = Buffer.from(query.subarray(0, 12));
  const flags = query.readUInt16BE(2);
  // QR, the query's opcode and RD, AA (we are the authority for these names), RA, and the rcode.
  header.writeUInt16BE(0x8000 | (flags & 0x7900) | 0x0400 | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(0, 10);
  const records = addresses.map((address) => {
    const data = isIPv6(address) ? ipv6Bytes(address) : Buffer.from(address.split('.').map(Number));
    const record = Buffer.alloc(12 + data.length);
    record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    record.writeUInt16BE(data.length === 16 ? TYPE_AAAA : TYPE_A, 2);
    record.writeUInt16BE(CLASS_IN, 4);
    record.writeUInt32BE(0, 6); // TTL 0: a container's address changes when it restarts elsewhere
    record.writeUInt16BE(data.length, 10);
    data.copy(record, 12);
    return record;
  });
  return Buffer.concat([header, query.subarray(12, question.end), ...records]);
}

function ipv6Bytes(address: string): Buffer {
  const bytes = Buffer.alloc(16);
  const n = ipv6ToBigInt(address);
  for (let i = 0; i < 16; i++) bytes[i] = Number((n >> BigInt(120 - 8 * i)) & 0xffn);
  return bytes;
}

export interface Resolver {
  close(): void;
}

/**
 * Serves `lookup` (a name, lower case, and the client's address → the name's addresses; undefined: not a
 * container of the network, nor of the client's other networks) on
 * address:53. `upstream(client address)`: where that client's other names are asked, or undefined to refuse them.
 */
export async function startResolver(
  address: string,
  lookup: (name: string, client: string) => string[] | undefined,
  upstream: (client: string) => string | undefined,
): Promise<Resolver> {
  const server = createSocket('udp4');
  const forwarder = createSocket('udp4');
  /** Forwarded queries by the id devbox gave them upstream, so that two clients' ids never clash there. */
  const pending = new Map<number, { port: number; address: string; clientId: number; timer: NodeJS.Timeout }>();
  let nextId = 0;
  forwarder.on('message', (reply) => {
    const waiting = reply.length >= 12 ? pending.get(reply.readUInt16BE(0)) : undefined;
    if (!waiting) return;
    clearTimeout(waiting.timer);
    pending.delete(reply.readUInt16BE(0));
    reply.writeUInt16BE(waiting.clientId, 0);
    server.send(reply, waiting.port, waiting.address);
  });
  server.on('message', (query, client) => {
    const question = readQuestion(query);
    if (!question || question.class !== CLASS_IN) return;
    const addresses = lookup(question.name, client.address);
    if (addresses) {
      // The addresses of the family asked; none (an AAAA query on a network without IPv6): the name exists
      // with no such address (NOERROR, empty).
      const family = question.type === TYPE_A ? addresses.filter(isIPv4) : question.type === TYPE_AAAA ? addresses.filter(isIPv6) : [];
      server.send(answer(query, question, family), client.port, client.address);
      return;
    }
    const to = upstream(client.address);
    if (!to) {
      server.send(answer(query, question, [], RCODE_REFUSED), client.port, client.address);
      return;
    }
    const id = nextId;
    nextId = (nextId + 1) % 65536;
    pending.get(id) && clearTimeout(pending.get(id)!.timer);
    const timer = setTimeout(() => pending.delete(id), FORWARD_TIMEOUT_MS);
    pending.set(id, { port: client.port, address: client.address, clientId: query.readUInt16BE(0), timer });
    const forwarded = Buffer.from(query);
    forwarded.writeUInt16BE(id, 0);
    forwarder.send(forwarded, 53, to);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.bind(53, address, () => resolve());
  });
  return {
    close() {
      server.close();
      forwarder.close();
      for (const { timer } of pending.values()) clearTimeout(timer);
    },
  };
}
