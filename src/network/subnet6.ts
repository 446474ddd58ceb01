/**
 * IPv6 subnets of devbox networks (--ipv6): parsing CIDR text, overlap, host addresses, and a unique local
 * /64 (RFC 4193: fd00::/8 with a random 40-bit global id) when none is given, as podman picks one. 128-bit
 * arithmetic on BigInt, so no address library is loaded for it.
 */
import { usageError } from '../util/errors.js';
import { net } from '../util/lazy-builtins.js';
import { randomHex } from '../util/random.js';

export interface Subnet6 {
  base: bigint;
  prefix: number;
}

/** `fd00::1` → its 128 bits. */
export function ipv6ToBigInt(address: string): bigint {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const groups = (text: string | undefined) => (text ? text.split(':') : []);
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return all.reduce((n, group) => (n << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

/** The shortest form (RFC 5952): the longest run of zero groups, two or more, as `::`. */
export function bigIntToIpv6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`;
}

function hostBits(prefix: number): bigint {
  return (1n << BigInt(128 - prefix)) - 1n;
}

/** `fd00:1::/64`; no host bits, and room for a gateway and containers (/120 or larger). */
export function parseSubnet6(text: string): Subnet6 {
  const match = /^([0-9a-fA-F:]+)\/([0-9]{1,3})$/.exec(text);
  if (!match || !net().isIPv6(match[1]) || Number(match[2]) > 128)
    throw usageError(`invalid subnet "${text}"`, 'write an IPv6 network as ADDRESS/PREFIX, e.g. fd00:1::/64');
  const prefix = Number(match[2]);
  if (prefix > 120) throw usageError(`subnet "${text}" is too small`, 'a network needs a gateway and addresses for containers: /120 or larger');
  const address = ipv6ToBigInt(match[1]);
  const subnet = { base: address & ~hostBits(prefix), prefix };
  if (subnet.base !== address) throw usageError(`invalid subnet "${text}": it has host bits set`, `write ${formatSubnet6(subnet)}`);
  return subnet;
}

export function formatSubnet6(subnet: Subnet6): string {
  return `${bigIntToIpv6(subnet.base)}/${subnet.prefix}`;
}

export function overlaps6(a: Subnet6, b: Subnet6): boolean {
  return a.base <= b.base + hostBits(b.prefix) && b.base <= a.base + hostBits(a.prefix);
}

/** Its first address, as the IPv4 gateway. */
export function defaultGateway6(subnet: Subnet6): string {
  return bigIntToIpv6(subnet.base + 1n);
}

/** The n-th address after the gateway (n from 0), as hostAddress gives the IPv4 one: a container's pair has one n. */
export function hostAddress6(subnet: Subnet6, n: number): string | undefined {
  const offset = BigInt(n) + 2n;
  return offset <= hostBits(subnet.prefix) ? bigIntToIpv6(subnet.base + offset) : undefined;
}

/** A unique local /64 with a random global id (RFC 4193 3.2). */
export function randomUniqueLocal(): Subnet6 {
  const id = BigInt(`0x${randomHex(5)}`);
  return { base: (0xfdn << 120n) | (id << 80n), prefix: 64 };
}
