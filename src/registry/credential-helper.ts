/**
 * Docker credential helpers (`docker-credential-NAME`, named by `credHelpers` and `credsStore` in Docker's
 * config.json and in containers-auth.json): `docker-credential-NAME get` reads the registry's server address
 * on stdin and writes `{"ServerURL", "Username", "Secret"}`; "not found" is an exit status 1 with the message
 * "credentials not found in native keychain". Secrets stay in memory, never in a message.
 */
import { spawnSync } from 'node:child_process';
import { DevboxError } from '../util/errors.js';
import { findProgram } from '../util/programs.js';

/** A helper that waits for a passphrase nobody types (stdin is the address) must not hang a pull. */
const HELPER_TIMEOUT_MS = 30_000;

export interface HelperCredentials {
  username: string;
  secret: string;
}

/** The server address Docker stores and asks helpers for: Docker Hub's historical URL, else host[:port]. */
export function helperServerAddress(host: string): string {
  return host === 'docker.io' ? 'https://index.docker.io/v1/' : host;
}

/**
 * A helper that fails before reading the address (a locked keychain) has closed its stdin when the address is
 * written: EPIPE. That is no failure of its own; its status and message say what happened.
 */
function exitedBeforeReading(error: Error): boolean {
  return (error as NodeJS.ErrnoException).code === 'EPIPE';
}

/** The credentials `helper` holds for `host`, or undefined when it has none. */
export function credentialsFromHelper(helper: string, host: string, source: string): HelperCredentials | undefined {
  const name = `docker-credential-${helper}`;
  const program = findProgram(name);
  if (!program)
    throw new DevboxError(`${source} names the credential helper ${name} for ${host}, which is not installed`, {
      fix: `install ${name}, or remove it from ${source}`,
    });
  const result = spawnSync(program, ['get'], { input: helperServerAddress(host), encoding: 'utf8', timeout: HELPER_TIMEOUT_MS });
  if (result.error && !exitedBeforeReading(result.error)) throw new DevboxError(`the credential helper ${name} failed for ${host}: ${result.error.message}`);
  if (result.status !== 0) {
    if (/credentials not found/i.test(result.stdout + result.stderr)) return undefined;
    // Its first line only: helpers print their own diagnostics, never the secret they could not find.
    const why = (result.stderr || result.stdout).trim().split('\n')[0] || `exit status ${result.status ?? result.signal}`;
    throw new DevboxError(`the credential helper ${name} failed for ${host}: ${why}`);
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(result.stdout) as typeof parsed;
  } catch {
    throw new DevboxError(`the credential helper ${name} answered for ${host} with something that is not JSON`);
  }
  if (typeof parsed.Username !== 'string' || typeof parsed.Secret !== 'string' || !parsed.Secret) {
    throw new DevboxError(`the credential helper ${name} answered for ${host} without a Username and Secret`);
  }
  if (parsed.Username === '<token>') {
    // An identity token is exchanged at the token server through OAuth2, which devbox's client does not do.
    throw new DevboxError(`the credential helper ${name} holds an identity token for ${host}, which devbox cannot use`, {
      fix: `devbox login ${host} with a user name and password or access token`,
    });
  }
  return { username: parsed.Username, secret: parsed.Secret };
}
