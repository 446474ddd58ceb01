/**
 * A project's network as its sandbox gets it: the config's mode and ports as NetworkOptions (auto-forward and
 * host loopback come from the user's settings, as for `devbox run`), and how to change them in the config
 * file, for error messages.
 */
import { isIPv4 } from 'node:net';
import { hostPortClash, type NetworkOptions, type PortAttributeRules } from '../network/options.js';
import { DEFAULT_HOST_IP, type PortMapping } from '../network/port-mapping.js';
import type { OtherHostPort } from '../network/publish.js';
import type { Settings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';
import type { PortMapping as ConfigPort, ProjectConfig } from './project-config.js';

export interface ProjectNetwork {
  options: NetworkOptions;
  fixes: { withoutSlirp4netns?: string; otherHostPort: OtherHostPort };
}

/** A config port as slirp4netns publishes it: on the host's 127.0.0.1 unless an (IPv4) address is given. */
function published(port: ConfigPort, where: string): PortMapping {
  const hostIp = port.hostIp ?? DEFAULT_HOST_IP;
  if (!isIPv4(hostIp)) {
    throw new DevboxError(`${where}: cannot publish port ${port.containerPort} on ${hostIp}: slirp4netns publishes on IPv4 addresses only`, {
      fix: 'give an IPv4 address such as 127.0.0.1, or none',
    });
  }
  return { hostIp, hostPort: port.hostPort, containerPort: port.containerPort, protocol: port.protocol };
}

export function projectNetwork(
  project: ProjectConfig,
  settings: Pick<Settings, 'autoForward' | 'allowHostLoopback'>,
  portAttributes?: PortAttributeRules,
): ProjectNetwork {
  const file = project.source.path;
  const devboxJson = project.source.format === 'devbox.json';
  const key = devboxJson ? 'ports' : 'forwardPorts';
  // On a devbox network TCP ports are published by the helper's forwarder, straight into the sandbox.
  const shared = project.networkShareWith && `the network of ${project.networkShareWith}`;
  const udp = (project.networkName || shared) && project.ports.find((port) => port.protocol === 'udp');
  if (udp) {
    throw new DevboxError(
      `${file}: "${key}": cannot publish ${udp.containerPort}/udp on ${shared || `network ${project.networkName}`}: UDP ports are published on slirp4netns only`,
      {
        fix: 'publish TCP ports, or leave "network" out',
      },
    );
  }
  const publish =
    project.network === 'slirp4netns' || project.networkName || project.networkShareWith
      ? project.ports.map((port) => published(port, `${file}: "${key}"`))
      : [];
  const clash = hostPortClash(publish);
  if (clash) throw new DevboxError(`${file}: "${key}": ${clash}`, { fix: 'give each port its own host port' });
  const mapping = (hostPort: number, containerPort: number) => `"ports": ["${hostPort}:${containerPort}"]`;
  return {
    options: {
      mode: project.network,
      publish,
      autoForward: settings.autoForward,
      allowHostLoopback: settings.allowHostLoopback,
      ...(portAttributes ? { portAttributes } : {}),
      ...(project.networkName ? { networks: [{ name: project.networkName, aliases: [] }] } : {}),
      ...(project.networkShareWith ? { shareWith: project.networkShareWith } : {}),
    },
    // devcontainer.json has no network setting, and its forwardPorts keep the port number on the host.
    fixes: devboxJson
      ? { withoutSlirp4netns: `set "network": "host" in ${file}`, otherHostPort: (host, container) => `${mapping(host, container)} in ${file}` }
      : { otherHostPort: (host, container) => `${mapping(host, container)} in a devbox.json, which takes precedence over ${file}` },
  };
}
