import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { type NetworkRecord, planNetwork } from '../../src/network/networks.js';
import { hostAddress, nextFreeSubnet, overlaps, parseSubnet } from '../../src/network/subnet.js';
import { bigIntToIpv6, formatSubnet6, hostAddress6, ipv6ToBigInt, overlaps6, parseSubnet6 } from '../../src/network/subnet6.js';
import type { DevboxError } from '../../src/util/errors.js';
import { thrownBy } from '../helpers/errors.js';

const refusal = (fn: () => unknown) => (thrownBy(fn) as DevboxError).toLine();

const request = { internal: false, labels: {} };
const record = (name: string, subnet: string): NetworkRecord => planNetwork({ ...request, name, subnet }, []);

test('a new network gets the next /24 of 10.89.0.0/16 that no other network overlaps, and its first address as gateway', () => {
  const first = planNetwork({ ...request, name: 'a' }, [record('x', '10.88.0.0/16')]);
  assert.is(first.subnet, '10.89.0.0/24');
  assert.is(first.gateway, '10.89.0.1');
  assert.match(first.id, /^[0-9a-f]{64}$/);
  const third = planNetwork({ ...request, name: 'c' }, [first, record('b', '10.89.1.128/25')]);
  assert.is(third.subnet, '10.89.2.0/24');
});

test('--subnet and --gateway are checked against the subnet and every other network', () => {
  const a = record('a', '10.90.0.0/24');
  assert.match(
    refusal(() => planNetwork({ ...request, name: 'b', subnet: '10.90.0.0/16' }, [a])),
    /^subnet 10\.90\.0\.0\/16 overlaps network a \(10\.90\.0\.0\/24\)/,
  );
  assert.match(
    refusal(() => planNetwork({ ...request, name: 'b', subnet: '10.0.0.0/8' }, [])),
    /overlaps 10\.0\.2\.0\/24, the outbound link's own network/,
  );
  assert.match(
    refusal(() => planNetwork({ ...request, name: 'b', subnet: '10.91.0.1/24' }, [])),
    /has host bits set \(write 10\.91\.0\.0\/24\)/,
  );
  assert.match(
    refusal(() => planNetwork({ ...request, name: 'b', subnet: '10.91.0.0/31' }, [])),
    /too small/,
  );
  assert.match(
    refusal(() => planNetwork({ ...request, name: 'b', subnet: 'fd00::/64' }, [])),
    /invalid subnet "fd00::\/64"/,
  );
  assert.match(
    refusal(() => planNetwork({ ...request, name: 'b', subnet: '10.91.0.0/24', gateway: '10.92.0.1' }, [])),
    /gateway 10\.92\.0\.1 is not an address of subnet/,
  );
  assert.is(planNetwork({ ...request, name: 'b', subnet: '10.91.0.0/24', gateway: '10.91.0.254' }, [a]).gateway, '10.91.0.254');
});

test("names follow Docker's rule and may not be taken or predefined", () => {
  const a = record('a', '10.90.0.0/24');
  assert.match(
    refusal(() => planNetwork({ ...request, name: 'a' }, [a])),
    /^network with name a already exists/,
  );
  for (const name of ['host', 'none', 'bridge', 'slirp4netns', 'container']) {
    assert.match(
      refusal(() => planNetwork({ ...request, name }, [])),
      /is predefined/,
    );
  }
  for (const name of ['-x', 'a b', 'a/b', ''])
    assert.match(
      refusal(() => planNetwork({ ...request, name }, [])),
      /^invalid network name/,
    );
});

test('subnet arithmetic: overlap, host addresses and a full pool', () => {
  assert.ok(overlaps(parseSubnet('10.0.0.0/8'), parseSubnet('10.200.3.0/24')));
  assert.not.ok(overlaps(parseSubnet('10.89.0.0/24'), parseSubnet('10.89.1.0/24')));
  const small = parseSubnet('10.9.0.0/30');
  assert.equal(
    [0, 1].map((n) => hostAddress(small, n)),
    ['10.9.0.2', undefined],
  );
  assert.is(nextFreeSubnet([parseSubnet('10.89.0.0/16')]), undefined);
});

test('--ipv6: a unique local /64 unless --subnet gives an IPv6 one; overlaps and a missing --ipv6 are one line each', () => {
  const v4only = planNetwork({ ...request, name: 'a' }, []);
  assert.is(v4only.subnet6, undefined);
  const ula = planNetwork({ ...request, name: 'b', ipv6: true }, []);
  assert.match(ula.subnet6!, /^fd[0-9a-f:]+\/64$/);
  assert.is(ipv6ToBigInt(ula.subnet6!.split('/')[0]!) >> 120n, 0xfdn, 'in fd00::/8');
  assert.is(ula.gateway6, `${ula.subnet6!.split('/')[0]}1`);
  const given = planNetwork({ ...request, name: 'c', ipv6: true, subnet6: 'fd00:dead:beef::/64' }, [ula]);
  assert.equal([given.subnet6, given.gateway6], ['fd00:dead:beef::/64', 'fd00:dead:beef::1']);
  assert.is(
    refusal(() => planNetwork({ ...request, name: 'd', ipv6: true, subnet6: 'fd00:dead::/32' }, [given])),
    'subnet fd00:dead::/32 overlaps network c (fd00:dead:beef::/64) (choose a subnet no other network uses ("devbox network inspect" shows theirs))',
  );
  assert.is(
    refusal(() => planNetwork({ ...request, name: 'e', subnet6: 'fd00:1::/64' }, [])),
    'subnet fd00:1::/64 is IPv6 (add --ipv6 to give the network IPv6 addresses)',
  );
  assert.is(
    refusal(() => parseSubnet6('fd00::1/64')),
    'invalid subnet "fd00::1/64": it has host bits set (write fd00::/64)',
  );
});

test('IPv6 arithmetic: text both ways in the shortest form, overlap, host addresses', () => {
  assert.is(bigIntToIpv6(ipv6ToBigInt('fd00:0:0:1:0:0:0:2')), 'fd00:0:0:1::2');
  assert.is(bigIntToIpv6(ipv6ToBigInt('::1')), '::1');
  assert.is(bigIntToIpv6(ipv6ToBigInt('fd00::')), 'fd00::');
  assert.is(bigIntToIpv6(ipv6ToBigInt('1:2:3:4:5:6:7:8')), '1:2:3:4:5:6:7:8');
  const subnet = parseSubnet6('fd00:1::/120');
  assert.is(formatSubnet6(subnet), 'fd00:1::/120');
  assert.is(hostAddress6(subnet, 0), 'fd00:1::2');
  assert.is(hostAddress6(subnet, 253), 'fd00:1::ff');
  assert.is(hostAddress6(subnet, 254), undefined);
  assert.ok(overlaps6(parseSubnet6('fd00::/16'), subnet));
  assert.not.ok(overlaps6(parseSubnet6('fd00:2::/64'), subnet));
});

test.run();
