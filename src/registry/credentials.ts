/**
 * Registry credentials in the files users already have, all in the `{"auths": {KEY: {"auth": base64(user:pass)}}}`
 * shape: devbox's own (written by `devbox login`, mode 0600), $REGISTRY_AUTH_FILE and
 * $XDG_RUNTIME_DIR/containers/auth.json (podman, skopeo, buildah), and $DOCKER_CONFIG/config.json
 * (~/.docker/config.json). They are read in that order, the first with an entry wins. A key is a registry
 * (`host[:port]`, optionally with a URL scheme and path as Docker writes them) or, as containers-auth.json
 * allows, a registry with a repository namespace; the longest key that covers the repository applies.
 * Within one file, as Docker does, a credential helper named for the registry (`credHelpers`) comes first, then
 * `auths`, then the default helper (`credsStore`). Secrets never appear in messages.
 */
import { promises as fs, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { configDir } from '../settings/settings.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { describeError, DevboxError } from '../util/errors.js';
import { credentialsFromHelper } from './credential-helper.js';

export interface Credentials {
  username: string;
  password: string;
  /** The file they came from. */
  source: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  /** Registry (host[:port]) → credential helper name. */
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [other: string]: unknown;
}

/** devbox's own credentials file. */
export function devboxAuthPath(): string {
  return join(configDir(), 'auth.json');
}

/** Every file credentials are read from, in order of precedence. */
export function authFiles(): string[] {
  const files = [devboxAuthPath()];
  if (process.env.REGISTRY_AUTH_FILE) files.push(process.env.REGISTRY_AUTH_FILE);
  if (process.env.XDG_RUNTIME_DIR) files.push(join(process.env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(join(process.env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json'));
  return files;
}

function readAuthFile(path: string): AuthFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new DevboxError(`cannot read credentials from ${path}: ${describeError(error)}`);
  }
  try {
    const parsed = JSON.parse(text) as AuthFile;
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
    return parsed;
  } catch {
    throw new DevboxError(`${path} is not valid JSON`, { fix: 'fix or delete the file' });
  }
}

/** A key as Docker and podman write it (`https://index.docker.io/v1/`, `host:5000/ns`) → `host[:port][/ns]`. */
export function normalizeAuthKey(key: string): string {
  const bare = key.replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '');
  const [host, ...rest] = bare.split('/');
  if (host === 'index.docker.io' || host === 'registry-1.docker.io') return 'docker.io'; // Docker Hub's /v1/ path is no namespace
  return [host, ...rest].join('/');
}

function decodeEntry(entry: AuthEntry, key: string, source: string): Credentials | undefined {
  if (entry.username && entry.password) return { username: entry.username, password: entry.password, source };
  if (!entry.auth) return undefined; // e.g. an entry that only says a credential helper has it
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new DevboxError(`${source}: the credentials for ${key} are malformed (no "user:password")`, { fix: `log in to ${key} again` });
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source };
}

/** Credentials for `host` and the repository `path` on it, or undefined for anonymous access. */
export function findCredentials(host: string, path = ''): Credentials | undefined {
  const scopes = path.split('/').map((_, i, parts) => `${host}/${parts.slice(0, parts.length - i).join('/')}`);
  const wanted = [...(path ? scopes : []), host];
  for (const file of authFiles()) {
    const data = readAuthFile(file);
    const named = Object.entries(data.credHelpers ?? {}).find(([key]) => normalizeAuthKey(key) === host)?.[1];
    const fromNamed = named ? helperCredentials(named, host, file) : undefined;
    if (fromNamed) return fromNamed;
    const byKey = new Map(Object.entries(data.auths ?? {}).map(([key, entry]) => [normalizeAuthKey(key), { key, entry }]));
    for (const key of wanted) {
      const found = byKey.get(key);
      const credentials = found && decodeEntry(found.entry, key, file);
      if (credentials) return credentials;
    }
    const fromStore = data.credsStore ? helperCredentials(data.credsStore, host, file) : undefined;
    if (fromStore) return fromStore;
  }
  return undefined;
}

function helperCredentials(helper: string, host: string, file: string): Credentials | undefined {
  const found = credentialsFromHelper(helper, host, file);
  return found && { username: found.username, password: found.secret, source: `${file} (docker-credential-${helper})` };
}

/** Writes devbox's credentials file atomically, readable by its owner only. */
async function writeAuthFile(path: string, data: AuthFile): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFileAtomic(path, `${JSON.stringify(data, null, 2)}\n`, { durable: true, mode: 0o600 });
  } catch (error) {
    throw new DevboxError(`cannot write ${path}: ${describeError(error)}`);
  }
}

export async function saveCredentials(registry: string, username: string, password: string): Promise<string> {
  const path = devboxAuthPath();
  const data = readAuthFile(path);
  data.auths = { ...data.auths, [registry]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
  await writeAuthFile(path, data);
  return path;
}

/**
 * Removes `registry` from devbox's file. When only another tool's file has credentials for it, says so: devbox
 * does not edit other tools' files.
 */
export async function removeCredentials(registry: string): Promise<void> {
  const path = devboxAuthPath();
  const data = readAuthFile(path);
  const keys = Object.keys(data.auths ?? {}).filter((k) => normalizeAuthKey(k) === registry);
  if (!keys.length) {
    const elsewhere = findCredentials(registry);
    if (elsewhere) {
      throw new DevboxError(`not logged in to ${registry} with devbox; the credentials in use come from ${elsewhere.source}`, {
        fix: 'remove them with the tool that wrote that file (docker logout, podman logout)',
      });
    }
    throw new DevboxError(`not logged in to ${registry}`);
  }
  for (const key of keys) delete data.auths![key];
  await writeAuthFile(path, data);
}
