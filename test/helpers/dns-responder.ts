/**
 * A DNS responder on the host's loopback for tests: answers A queries for the names it is given (RFC 1035
 * wire format, one question per message), NXDOMAIN for others, an empty answer for other types.
 */
import { createSocket, type Socket } from 'node:dgram';

export interface DnsResponder {
  port: number;
  /** Names asked for, in order. */
  queries: string[];
  close(): Promise<void>;
}

function readName(message: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  while (message[offset] !== 0) {
    labels.push(message.subarray(offset + 1, offset + 1 + message[offset]).toString('ascii'));
    offset += 1 + message[offset];
  }
  return { name: labels.join('.'), end: offset + 1 };
}

function answer(query: Buffer, records: ReadonlyMap<string, string>, queries: string[]): Buffer {
  const { name, end } = readName(query, 12);
  const type = query.readUInt16BE(end);
  queries.push(name);
  const address = records.get(name.toLowerCase());
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // the query's id
  header.writeUInt16BE(address === undefined ? 0x8183 : 0x8180, 2); // response, recursion available; NXDOMAIN or no error
  header.writeUInt16BE(1, 4);
  const withAnswer = address !== undefined && type === 1;
  header.writeUInt16BE(withAnswer ? 1 : 0, 6);
  const question = query.subarray(12, end + 4);
  if (!withAnswer) return Buffer.concat([header, question]);
  const record = Buffer.alloc(16);
  record.writeUInt16BE(0xc00c, 0); // the name, by pointer to the question's
  record.writeUInt16BE(1, 2); // A
  record.writeUInt16BE(1, 4); // IN
  record.writeUInt32BE(60, 6);
  record.writeUInt16BE(4, 10);
  for (const [i, octet] of address.split('.').entries()) record.writeUInt8(Number(octet), 12 + i);
  return Buffer.concat([header, question, record]);
}

/** Listens on `address` (127.0.0.1) and `port` (any free one); port 53 needs root. */
export function startDnsResponder(records: Record<string, string>, { address = '127.0.0.1', port = 0 } = {}): Promise<DnsResponder> {
  const table = new Map(Object.entries(records).map(([k, v]) => [k.toLowerCase(), v]));
  const queries: string[] = [];
  const socket: Socket = createSocket('udp4');
  socket.on('message', (message, from) => socket.send(answer(message, table, queries), from.port, from.address));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => {
      resolve({ port: socket.address().port, queries, close: () => new Promise((done) => socket.close(() => done())) });
    });
  });
}
