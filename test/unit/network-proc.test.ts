import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { parseSocketTable, TCP_LISTEN } from '../../src/network/proc-net.js';

// /proc/net/tcp{,6} as a little-endian machine prints them (each 32-bit word of the address in host order).
const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const TCP =
  HEADER +
  [
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0',
    '   1: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4243 1 0000000000000000 100 0 0 10 0',
    '   2: 6402000A:0050 0302000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 4244 1 0000000000000000 20 4 30 10 -1',
  ].join('\n');
const TCP6 =
  HEADER +
  [
    '   0: 00000000000000000000000000000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5001 1 0000000000000000 100 0 0 10 0',
    '   1: 0000000000000000FFFF00006402000A:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5002 1 0000000000000000 100 0 0 10 0',
    '   2: 00000000000000000000000001000000:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5003 1 0000000000000000 100 0 0 10 0',
  ].join('\n');

test('IPv4 sockets: address, port, state and inode', () => {
  assert.equal(parseSocketTable(TCP), [
    { address: '127.0.0.1', port: 8080, state: TCP_LISTEN, inode: 4242 },
    { address: '0.0.0.0', port: 3000, state: TCP_LISTEN, inode: 4243 },
    { address: '10.0.2.100', port: 80, state: 1, inode: 4244 },
  ]);
});

test('IPv6 sockets: the wildcard, a v4-mapped address and loopback', () => {
  assert.equal(
    parseSocketTable(TCP6).map((s) => [s.address, s.port, s.inode]),
    [
      ['::', 3000, 5001],
      ['::ffff:10.0.2.100', 8080, 5002],
      ['::1', 9000, 5003],
    ],
  );
});

test('an empty table has no sockets', () => {
  assert.equal(parseSocketTable(HEADER), []);
});

test.run();
