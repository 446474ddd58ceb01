/**
 * IPv4 subnets of devbox networks: parsing CIDR text, overlap, and the next free one from podman's pool.
 * Thirty lines of arithmetic on 32-bit numbers, so no address library is loaded for them.
 */
import { usageError } from '../util/errors.js';
import { net } from '../util/lazy-builtins.js';

export interface Subnet {
  /** The network address, as a 32-bit unsigned number. */
  base: number;
  prefix: number;
}

export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

function size(subnet: Subnet): number {
  return 2 ** (32 - subnet.prefix);
}

/** `10.89.3.0/24`; the address must be the network's own (no host bits), as Docker asks. */
export function parseSubnet(text: string): Subnet {
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
  const fix = 'write an IPv4 network as ADDRESS/PREFIX, e.g. 10.90.0.0/24';
  if (!match || !net().isIPv4(match[1]) || Number(match[2]) > 32) throw usageError(`invalid subnet "${text}"`, fix);
  const prefix = Number(match[2]);
  if (prefix > 30) throw usageError(`subnet "${text}" is too small`, 'a network needs a gateway and addresses for containers: /30 or larger');
  const address = ipv4ToNumber(match[1]);
  const subnet = { base: address - (address % 2 ** (32 - prefix)), prefix };
  if (subnet.base !== address) throw usageError(`invalid subnet "${text}": it has host bits set`, `write ${formatSubnet(subnet)}`);
  return subnet;
}

export function formatSubnet(subnet: Subnet): string {
  return `${numberToIpv4(subnet.base)}/${subnet.prefix}`;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

export function contains(subnet: Subnet, address: string): boolean {
  const n = ipv4ToNumber(address);
  return n >= subnet.base && n < subnet.base + size(subnet);
}

/** The gateway Docker and podman give a network: its first address. */
export function defaultGateway(subnet: Subnet): string {
  return numberToIpv4(subnet.base + 1);
}

/** The n-th usable address after the gateway (n from 0), or undefined past the broadcast address. */
export function hostAddress(subnet: Subnet, n: number): string | undefined {
  const offset = n + 2;
  return offset < size(subnet) - 1 ? numberToIpv4(subnet.base + offset) : undefined;
}

/** podman's pool for new networks: 10.89.0.0/24, 10.89.1.0/24, … 10.89.255.0/24. */
export function nextFreeSubnet(taken: readonly Subnet[]): Subnet | undefined {
  for (let third = 0; third < 256; third++) {
    const candidate = { base: ipv4ToNumber(`10.89.${third}.0`), prefix: 24 };
    if (!taken.some((t) => overlaps(t, candidate))) return candidate;
  }
  return undefined;
}
