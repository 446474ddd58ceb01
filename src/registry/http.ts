/**
 * HTTP for the registry client, on node:http/https (see docs/registry.md for why not fetch): keep-alive
 * agents so a pull's requests share connections, responses as Node streams that go straight into the
 * hashing pipeline, redirects followed for GET and HEAD (blob downloads are often redirected to object
 * storage) without carrying the Authorization header to another origin, and an idle timeout.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { describeError, DevboxError } from '../util/errors.js';

const AGENT_OPTIONS = { keepAlive: true, maxSockets: 16 };
const agents = { 'http:': new http.Agent(AGENT_OPTIONS), 'https:': new https.Agent(AGENT_OPTIONS) };

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
    const req = transport.request(url, { method: request.method, headers, agent: agents[url.protocol as 'http:' | 'https:'], timeout: IDLE_TIMEOUT_MS });
    req.once('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.once('error', (error) => reject(new NetworkError(`cannot reach ${url.host}: ${describeNetworkError(error)}`, { cause: error })));
    req.once('response', (res) => {
      // After the headers the body has its own idle timeout: a stalled transfer must fail, not hang.
      res.socket.setTimeout(IDLE_TIMEOUT_MS, () => res.destroy(Object.assign(new Error(`${url.host} stopped sending data`), { code: 'ETIMEDOUT' })));
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
