/**
 * HTTP for the registry client, on node:http/https (see docs/registry.md for why not fetch): keep-alive
 * agents so a pull's requests share connections, responses as Node streams that go straight into the
 * hashing pipeline, redirects followed for GET and HEAD (blob downloads are often redirected to object
 * storage) without carrying the Authorization header to another origin, and an idle timeout.
 */
import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { createSecureContext, type SecureContext } from 'node:tls';
import { describeError, DevboxError } from '../util/errors.js';
import { warn } from '../util/warn.js';

const AGENT_OPTIONS = { keepAlive: true, maxSockets: 16 };
const httpAgent = new http.Agent(AGENT_OPTIONS);
let httpsAgent: https.Agent | undefined;

/**
 * The trust Node.js would have had with NODE_EXTRA_CA_CERTS, which the launcher kept from its start
 * (native/launcher.c, bin/devbox): the default CAs and the file's. Undefined when Node.js loaded it itself,
 * or none was set. Unreadable, it is ignored with a warning, as Node.js does.
 */
function deferredExtraCaContext(): SecureContext | undefined {
  const file = (globalThis as Record<symbol, unknown>)[Symbol.for('devbox.deferredExtraCaCerts')];
  if (typeof file !== 'string') return undefined;
  const context = createSecureContext();
  try {
    // What Node.js does with the file at its start: each certificate added to a copy of the default store
    // (`ca` would replace the default CAs instead).
    (context as SecureContext & { context: { addCACert(pem: string): void } }).context.addCACert(readFileSync(file, 'utf8'));
  } catch (error) {
    warn(`ignoring the certificates of NODE_EXTRA_CA_CERTS (${file}): ${describeError(error)}`);
  }
  return context;
}

function agentFor(url: URL): http.Agent {
  if (url.protocol !== 'https:') return httpAgent;
  if (!httpsAgent) {
    const secureContext = deferredExtraCaContext();
    httpsAgent = new https.Agent({ ...AGENT_OPTIONS, ...(secureContext ? { secureContext } : {}) });
  }
  return httpsAgent;
}

/** A connection that delivers nothing for this long is given up. */
const IDLE_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 5;

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  /** The URL that answered, after redirects (upload locations are relative to it). */
  url: URL;
}

/** A network failure (no response at all), with the host in words: "cannot reach HOST: connection refused (ECONNREFUSED)". */
export class NetworkError extends DevboxError {}

function sendOnce(request: HttpRequest): Promise<HttpResponse> {
  const { url } = request;
  const transport = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { 'User-Agent': 'devbox', ...request.headers };
  if (Buffer.isBuffer(request.body)) headers['Content-Length'] = String(request.body.length);
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { method: request.method, headers, agent: agentFor(url), timeout: IDLE_TIMEOUT_MS });
    req.once('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.once('error', (error) => reject(new NetworkError(`cannot reach ${url.host}: ${describeNetworkError(error)}`, { cause: error })));
    req.once('response', (res) => {
      // After the headers the body has its own idle timeout: a stalled transfer must fail, not hang.
      const stalled = () => res.destroy(Object.assign(new Error(`${url.host} stopped sending data`), { code: 'ETIMEDOUT' }));
      const socket = res.socket;
      socket.setTimeout(IDLE_TIMEOUT_MS, stalled);
      // A keep-alive socket serves many responses: each takes its listener off again, or they pile up on it.
      res.once('close', () => socket.setTimeout(0, stalled));
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
    });
    if (request.body === undefined || Buffer.isBuffer(request.body)) req.end(request.body);
    else {
      request.body.once('error', (error) => req.destroy(error));
      request.body.pipe(req);
    }
  });
}

/** A network error in words, with its code: "connection reset (ECONNRESET)". */
export function describeNetworkError(error: NodeJS.ErrnoException): string {
  const words: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'host name lookup failed',
    ETIMEDOUT: 'timed out',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    EPROTO: 'TLS handshake failed (is it a plain-HTTP registry? see insecureRegistries)',
  };
  const known = error.code && words[error.code];
  return known ? `${known} (${error.code})` : describeError(error);
}

/** Sends a request; GET and HEAD follow redirects. The caller consumes or destroys the body. */
export async function send(request: HttpRequest): Promise<HttpResponse> {
  let current = request;
  for (let hop = 0; ; hop++) {
    const response = await sendOnce(current);
    const location = response.headers.location;
    const redirect = [301, 302, 303, 307, 308].includes(response.status) && location && (current.method === 'GET' || current.method === 'HEAD');
    if (!redirect) return response;
    response.body.resume();
    if (hop >= MAX_REDIRECTS) throw new NetworkError(`${request.url.host}: too many redirects`);
    const next = new URL(location, current.url);
    const headers = { ...current.headers };
    if (next.origin !== current.url.origin) delete headers.Authorization; // signed object-storage URLs carry their own
    current = { ...current, url: next, headers };
  }
}

/** Reads a (small) body completely; more than `limit` bytes is an error. */
export async function readBody(response: HttpResponse, limit: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (declared > limit) {
    response.body.destroy();
    throw new DevboxError(`${what} is ${declared} bytes, more than the ${limit} devbox accepts`);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response.body) {
    length += (chunk as Buffer).length;
    if (length > limit) {
      response.body.destroy();
      throw new DevboxError(`${what} is larger than the ${limit} bytes devbox accepts`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
