/** How networks show: `network ls` rows and `network inspect`'s object, in Docker's shapes. */
import { shortId } from '../container/records.js';
import type { NetworkRecord } from '../network/networks.js';
import { readJoinedNetworks } from '../sandbox/containers.js';
import type { NetworkUser } from '../sandbox/networks-in-use.js';

/** One row of `network ls`, as its --format templates and --format json see it (Docker's field names). */
export interface NetworkListItem {
  ID: string;
  Name: string;
  Driver: string;
  Scope: string;
  IPv6: string;
  Internal: string;
  Labels: string;
  CreatedAt: string;
  Subnet: string;
  Label: (key: string) => string;
}

export const NETWORK_HEADERS: Record<string, string> = {
  ID: 'NETWORK ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: 'LABELS',
  CreatedAt: 'CREATED AT',
  Subnet: 'SUBNET',
};

export function networkListItem(network: NetworkRecord, noTrunc: boolean): NetworkListItem {
  return {
    ID: noTrunc ? network.id : shortId(network.id),
    Name: network.name,
    Driver: network.driver,
    Scope: 'local',
    IPv6: String(network.subnet6 !== undefined),
    Internal: String(network.internal),
    Labels: Object.entries(network.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    CreatedAt: network.created,
    Subnet: network.subnet,
    Label: (key: string) => network.labels[key] ?? '',
  };
}

/** `docker network inspect`'s object; Containers holds those whose records name the network. */
export function inspectNetwork(network: NetworkRecord, users: readonly NetworkUser[]): Record<string, unknown> {
  return {
    Name: network.name,
    Id: network.id,
    Created: network.created,
    Scope: 'local',
    Driver: network.driver,
    EnableIPv6: network.subnet6 !== undefined,
    IPAM: {
      Driver: 'default',
      Options: {},
      Config: [{ Subnet: network.subnet, Gateway: network.gateway }, ...(network.subnet6 ? [{ Subnet: network.subnet6, Gateway: network.gateway6 }] : [])],
    },
    Internal: network.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries(
      users.map((u) => {
        const at = u.running ? readJoinedNetworks(u.dir)[network.name] : undefined;
        const IPv6Address = at?.address6 ? `${at.address6}/${at.prefix6}` : '';
        return [u.id, { Name: u.name, Aliases: u.aliases, IPv4Address: at ? `${at.address}/${at.prefix}` : '', IPv6Address, Running: u.running }];
      }),
    ),
    Options: {},
    Labels: network.labels,
  };
}
