/**
 * Where a repository is fetched from: its registry's mirrors in the order the settings list them, then the
 * registry itself (podman's registries.conf mirrors, Docker's registry-mirrors). A mirror is
 * `host[:port][/path]`; its path is put before the repository path, as podman does. Plain HTTP is used for
 * the registries the settings call insecure and for loopback hosts, which Docker also treats as insecure.
 * Pure: settings in, endpoints out.
 */
import { DEFAULT_REGISTRY, type ImageReference } from '../image/reference.js';
import type { Settings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';

export interface Endpoint {
  /** Base URL of the registry API host: http(s)://host[:port]. */
  origin: string;
  /** host[:port], which credentials are looked up by. */
  host: string;
  /** Repository path on this endpoint (a mirror's path prefix included). */
  path: string;
  mirror: boolean;
}

/** Docker Hub's API is not served at docker.io. */
const DOCKER_HUB_API = 'registry-1.docker.io';

function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

export function isInsecureRegistry(host: string, settings: Pick<Settings, 'insecureRegistries'>): boolean {
  return isLoopback(host) || settings.insecureRegistries.includes(host);
}

function endpoint(host: string, path: string, mirror: boolean, settings: Pick<Settings, 'insecureRegistries'>): Endpoint {
  const apiHost = host === DEFAULT_REGISTRY ? DOCKER_HUB_API : host;
  return { origin: `${isInsecureRegistry(host, settings) ? 'http' : 'https'}://${apiHost}`, host, path, mirror };
}

/** Splits a mirror location `host[:port][/path]` (a scheme is tolerated and ignored: insecureRegistries decides). */
function parseMirror(location: string, registry: string): { host: string; prefix: string } {
  const bare = location.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const slash = bare.indexOf('/');
  const host = slash < 0 ? bare : bare.slice(0, slash);
  if (!/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host)) {
    throw new DevboxError(`registry mirror "${location}" of ${registry} is not host[:port][/path]`, { fix: 'fix "registryMirrors" with devbox config set' });
  }
  return { host, prefix: slash < 0 ? '' : bare.slice(slash + 1) };
}

/**
 * Where the registry `domain` is reached, in order: its mirrors, then itself. Each endpoint's path is the
 * mirror's prefix ('' for none): what goes before a repository path there.
 */
export function registryEndpoints(domain: string, settings: Pick<Settings, 'registryMirrors' | 'insecureRegistries'>): Endpoint[] {
  const mirrors = (settings.registryMirrors[domain] ?? []).map((location) => {
    const { host, prefix } = parseMirror(location, domain);
    return endpoint(host, prefix, true, settings);
  });
  return [...mirrors, endpoint(domain, '', false, settings)];
}

/** Endpoints to pull `ref` from, in order: mirrors first, the registry last. */
export function pullEndpoints(ref: ImageReference, settings: Pick<Settings, 'registryMirrors' | 'insecureRegistries'>): Endpoint[] {
  return registryEndpoints(ref.domain, settings).map((e) => ({ ...e, path: e.path ? `${e.path}/${ref.path}` : ref.path }));
}

/** The registry itself: pushes never go to a mirror. */
export function registryEndpoint(ref: ImageReference, settings: Pick<Settings, 'insecureRegistries'>): Endpoint {
  return endpoint(ref.domain, ref.path, false, settings);
}
