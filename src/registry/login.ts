/**
 * `devbox login`: credentials are checked against the registry (GET /v2/ with them, through the token
 * server when the registry uses one) before they are saved, so a typo is reported at once, not at the next pull.
 */
import { parseReference } from '../image/reference.js';
import { readSettings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';
import { RegistryClient, RegistryStatusError } from './client.js';
import { normalizeAuthKey, saveCredentials, type Credentials } from './credentials.js';
import { registryEndpoint } from './endpoints.js';

/** `REGISTRY` as users write it (docker.io, https://host:5000/, host:5000) → host[:port]. */
export function registryHost(text: string): string {
  const host = normalizeAuthKey(text.trim()).split('/')[0];
  let domain: string | undefined;
  try {
    domain = parseReference(`${host}/x`).domain;
  } catch {
    // reported below
  }
  if (domain !== host) throw new DevboxError(`"${text}" is not a registry host[:port]`, { fix: 'e.g. devbox login registry.example.com:5000' });
  return host;
}

/** Checks the credentials with the registry, then stores them in devbox's file; returns its path. */
export async function login(host: string, username: string, password: string): Promise<string> {
  const credentials: Credentials = { username, password, source: 'the command line' };
  const client = new RegistryClient(registryEndpoint({ domain: host, path: '' }, readSettings()), [], credentials);
  try {
    (await client.request({ method: 'GET', path: `${client.endpoint.origin}/v2/`, ok: [200] })).body.resume();
  } catch (error) {
    if (error instanceof RegistryStatusError && error.status === 401) throw new DevboxError(`cannot log in to ${host}: wrong user name or password`);
    if (error instanceof DevboxError) throw new DevboxError(`cannot log in to ${host}: ${error.message}`, { fix: error.fix, cause: error });
    throw error;
  }
  return saveCredentials(host, username, password);
}
