/**
 * A real registry for the registry tests: Debian's docker-registry (the CNCF distribution registry) on
 * 127.0.0.1 at a free port, with a temp storage directory, optionally behind htpasswd or token auth; a small
 * token server; a proxy that can record, corrupt, cut, reset or stall what passes, or answer 503; and skopeo as the
 * independent client that seeds images.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, sign, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A port nothing listens on right now (the registry takes its port from its config, not from a socket we pass). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${log()}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`docker-registry did not answer at ${url}: ${log()}`);
}

export type RegistryAuth = { htpasswd: string } | { token: TokenServer };

export interface TestRegistry {
  /** 127.0.0.1:PORT */
  host: string;
  stop(): Promise<void>;
}

export async function startRegistry(dir: string, auth?: RegistryAuth): Promise<TestRegistry> {
  const port = await freePort();
  const config = {
    version: '0.1',
    log: { level: 'error', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, 'storage') }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}` },
    ...(auth && 'htpasswd' in auth ? { auth: { htpasswd: { realm: 'devbox-test', path: auth.htpasswd } } } : {}),
    ...(auth && 'token' in auth
      ? { auth: { token: { realm: auth.token.realm, service: auth.token.service, issuer: auth.token.issuer, rootcertbundle: auth.token.certPath } } }
      : {}),
  };
  const configPath = join(dir, 'config.yml');
  writeFileSync(configPath, JSON.stringify(config)); // JSON is YAML
  const child = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL'); // a test run that dies must not leave the registry running
  process.once('exit', killOnExit);
  child.once('error', (error) => (stderr += String(error)));
  await waitForHttp(`http://127.0.0.1:${port}/v2/`, child, () => stderr);
  return {
    host: `127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      process.off('exit', killOnExit);
    },
  };
}

/** An htpasswd file (bcrypt, which the registry requires) made with apache2-utils' htpasswd. */
export function writeHtpasswd(path: string, user: string, password: string): void {
  execFileSync('htpasswd', ['-Bbc', path, user, password], { stdio: 'ignore' });
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  /** Scopes asked for, one entry per token request. */
  requests: string[][];
  stop(): Promise<void>;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/**
 * The token server of the distribution token spec: checks basic credentials, grants every requested action
 * to `user`, signs an RS256 JWT whose x5c header carries the self-signed certificate the registry trusts.
 */
export async function startTokenServer(dir: string, user: string, password: string): Promise<TokenServer> {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=devbox test token'],
    { stdio: 'ignore' },
  );
  const key = readFileSync(keyPath);
  const certDer = new X509Certificate(readFileSync(certPath)).raw;
  const service = 'devbox-test-registry';
  const issuer = 'devbox-test-issuer';
  const requests: string[][] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const scopes = url.searchParams.getAll('scope');
    requests.push(scopes);
    const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.map((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop()!.split(',');
      return { type, name: rest.join(':'), actions };
    });
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] }));
    const claims = base64url(
      JSON.stringify({ iss: issuer, sub: user, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access }),
    );
    const signature = base64url(sign('sha256', Buffer.from(`${header}.${claims}`), key));
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: `${header}.${claims}.${signature}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * What the proxy does to layer downloads (GET …/blobs/sha256:… of more than 1 kB: layers, not configs):
 * - `flip-byte`: one byte of the body flipped;
 * - `truncate`: a whole-blob answer (200) cut in half and the connection closed; ranged answers (206) pass;
 * - `truncate-always`: every answer, ranged or not, cut in half;
 * - `reset-once`: the first answer for each blob cut in half by a TCP reset; later ones pass;
 * - `reset-once-no-range`: the same, and later requests lose their Range header (a registry that ignores it);
 * - `unavailable-once`: the first request for each blob answered 503; later ones pass;
 * - `stall`: half sent, then nothing (nextStall() resolves then).
 */
export type ProxyMode = 'pass' | 'flip-byte' | 'truncate' | 'truncate-always' | 'reset-once' | 'reset-once-no-range' | 'unavailable-once' | 'stall';

export interface TestProxy {
  host: string;
  /** "METHOD path" of every request that passed, with " (Range: …)" when it asked for one. */
  log: string[];
  /** Setting it also forgets which blobs the "-once" modes broke. */
  mode: ProxyMode;
  /** Resolves when the next blob response has been cut off in "stall" mode. */
  nextStall(): Promise<void>;
  stop(): Promise<void>;
}

const isBlobGet = (req: http.IncomingMessage) => req.method === 'GET' && /\/blobs\/sha256:/.test(req.url!);

/** A proxy in front of `upstream` that breaks layer downloads as `mode` says (ProxyMode). */
export async function startProxy(upstream: string, mode: ProxyMode = 'pass'): Promise<TestProxy> {
  const waiting: (() => void)[] = [];
  const held = new Set<http.ServerResponse>();
  /** Blobs already broken once in the "-once" modes; setting a mode starts afresh. */
  const brokenOnce = new Set<string>();
  let current = mode;
  const proxy: TestProxy = {
    host: '',
    log: [],
    get mode() {
      return current;
    },
    set mode(next: ProxyMode) {
      current = next;
      brokenOnce.clear();
    },
    nextStall: () => new Promise((r) => waiting.push(r)),
    stop: async () => {},
  };
  const server = http.createServer((req, res) => {
    proxy.log.push(`${req.method} ${req.url}${req.headers.range ? ` (Range: ${req.headers.range})` : ''}`);
    const once = proxy.mode.endsWith('-once') || proxy.mode === 'reset-once-no-range';
    const firstTime = isBlobGet(req) && !brokenOnce.has(req.url!);
    if (proxy.mode === 'unavailable-once' && firstTime) {
      // A layer is told apart from a config by size, which a 503 answers before knowing: every blob fails once.
      brokenOnce.add(req.url!);
      res.writeHead(503, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"try again"}]}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const headers = { ...req.headers, host: upstream };
      if (proxy.mode === 'reset-once-no-range' && brokenOnce.has(req.url!)) delete headers.range;
      const out = http.request(`http://${upstream}${req.url}`, { method: req.method, headers }, (up) => {
        const body: Buffer[] = [];
        up.on('data', (c) => body.push(c));
        up.on('end', () => {
          const data = Buffer.concat(body);
          const isLayer = isBlobGet(req) && (up.statusCode === 200 || up.statusCode === 206) && data.length > 1024;
          const rewrite = (location: string) => location.replace(`http://${upstream}`, `http://${proxy.host}`);
          const outHeaders = { ...up.headers, ...(up.headers.location ? { location: rewrite(up.headers.location) } : {}) };
          const breaks =
            isLayer &&
            (proxy.mode === 'truncate-always' ||
              (proxy.mode === 'truncate' && up.statusCode === 200) ||
              (once && proxy.mode !== 'unavailable-once' && firstTime) ||
              ((proxy.mode === 'flip-byte' || proxy.mode === 'stall') && up.statusCode === 200));
          if (!breaks) {
            res.writeHead(up.statusCode!, outHeaders).end(data);
            return;
          }
          if (once) brokenOnce.add(req.url!);
          if (proxy.mode === 'flip-byte') {
            data[Math.floor(data.length / 2)] ^= 0xff;
            res.writeHead(200, outHeaders).end(data);
            return;
          }
          res.writeHead(up.statusCode!, outHeaders);
          res.write(data.subarray(0, data.length >> 1), () => {
            if (proxy.mode === 'stall') {
              held.add(res);
              for (const wake of waiting.splice(0)) wake();
            } else if (once) res.socket?.resetAndDestroy();
            else res.socket?.destroy();
          });
        });
      });
      out.on('error', () => res.destroy());
      out.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.stop = () =>
    new Promise((resolve) => {
      for (const res of held) res.socket?.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

/**
 * skopeo, as the independent client. Its credentials file is one of the test run's own (without
 * XDG_RUNTIME_DIR it would look in /run/containers/UID, which a test user may not have).
 */
export async function skopeo(args: readonly string[]): Promise<string> {
  const authFile = join(process.env.DEVBOX_TEST_TMP ?? tmpdir(), 'skopeo-auth.json');
  if (!existsSync(authFile)) writeFileSync(authFile, '{"auths":{}}');
  try {
    // Asynchronous: the token server skopeo asks may be in this very process.
    return (await execFileAsync('skopeo', args, { encoding: 'utf8', env: { ...process.env, REGISTRY_AUTH_FILE: authFile } })).stdout;
  } catch (error) {
    const e = error as { code?: string; stderr?: string };
    throw new Error(`skopeo ${args.join(' ')} failed: ${e.code === 'ENOENT' ? 'skopeo is not installed' : (e.stderr ?? String(error)).trim()}`);
  }
}

/** Copies a docker-archive into the registry with skopeo, which gzips its layers as a registry push does (`compression`: zstd instead). */
export async function seedImage(archive: string, dest: string, creds?: string, compression?: 'zstd'): Promise<void> {
  const recompress = compression ? ['--dest-compress', '--dest-compress-format', compression, '--format', 'oci'] : [];
  await skopeo([
    'copy',
    '-q',
    '--dest-tls-verify=false',
    ...(creds ? ['--dest-creds', creds] : []),
    ...recompress,
    `docker-archive:${archive}`,
    `docker://${dest}`,
  ]);
}

/** A request straight to the registry's API (anonymous). */
export async function registryApi(host: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`http://${host}/v2/${path}`, init);
}
