/**
 * Registry authentication as the distribution spec's token flow describes it (docker/distribution
 * docs/spec/auth/token.md): a 401 carries `WWW-Authenticate: Bearer realm="…",service="…",scope="…"`; the
 * client asks the realm for a token for the scopes it needs (with basic credentials when it has them) and
 * sends `Authorization: Bearer TOKEN`. A `Basic` challenge (htpasswd registries) takes the credentials directly.
 */
import { DevboxError } from '../util/errors.js';
import type { Credentials } from './credentials.js';
import { readBody, send } from './http.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate header (RFC 7235): `Scheme k="v", k2=v2`, quoted strings with backslash escapes.
 * Only the first challenge is kept: registries send one.
 */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const param = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/gy;
  for (let match = param.exec(m[2]); match?.[0]; match = param.exec(m[2])) {
    params[match[1].toLowerCase()] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3];
  }
  return { scheme: m[1].toLowerCase(), params };
}

export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/** Scope strings a client asks for: `repository:PATH:pull[,push]` (token.md "Requesting a Token"). */
export function repositoryScope(path: string, actions: readonly string[]): string {
  return `repository:${path}:${actions.join(',')}`;
}

/** The Authorization header value for a challenge, fetching a token for a Bearer challenge. */
export async function authorize(challenge: Challenge, scopes: readonly string[], credentials: Credentials | undefined, host: string): Promise<string> {
  if (challenge.scheme === 'basic') {
    if (!credentials) throw new DevboxError(`${host} requires authentication`, { fix: `devbox login ${host}` });
    return basicAuthorization(credentials);
  }
  if (challenge.scheme !== 'bearer' || !challenge.params.realm) {
    throw new DevboxError(`${host} asks for "${challenge.scheme}" authentication, which devbox does not support`);
  }
  let realm: URL;
  try {
    realm = new URL(challenge.params.realm);
  } catch {
    throw new DevboxError(`${host} names an invalid token server "${challenge.params.realm}"`);
  }
  if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
  const wanted = new Set([...scopes, ...(challenge.params.scope ? challenge.params.scope.split(' ') : [])]);
  for (const scope of wanted) realm.searchParams.append('scope', scope);
  const response = await send({ method: 'GET', url: realm, headers: credentials ? { Authorization: basicAuthorization(credentials) } : {} });
  const body = await readBody(response, 1 << 20, `the token from ${realm.host}`);
  if (response.status === 401 || response.status === 403) {
    throw new DevboxError(credentials ? `${host} rejected the credentials from ${credentials.source}` : `${host} requires authentication`, {
      fix: `devbox login ${host}`,
    });
  }
  if (response.status !== 200) throw new DevboxError(`the token server ${realm.host} of ${host} answered ${response.status}`);
  let token: unknown;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { token?: unknown; access_token?: unknown };
    token = parsed.token ?? parsed.access_token;
  } catch {
    // reported below
  }
  if (typeof token !== 'string' || !token) throw new DevboxError(`the token server ${realm.host} of ${host} sent no token`);
  return `Bearer ${token}`;
}
