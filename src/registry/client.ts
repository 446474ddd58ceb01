/**
 * A client for one repository on one endpoint (registry or mirror) of the distribution API
 * (opencontainers/distribution-spec spec.md). The first request pings /v2/ to learn how the registry wants
 * to be authenticated and authorizes once for every scope the client needs, so later requests, whose
 * bodies may be streams that cannot be sent twice, go out authorized. A 401 later (an expired token) gets
 * one new authorization and one retry for requests without a streamed body.
 */
import type { Readable } from 'node:stream';
import { DevboxError } from '../util/errors.js';
import { authorize, parseChallenge, repositoryScope } from './auth.js';
import { findCredentials, type Credentials } from './credentials.js';
import type { Endpoint } from './endpoints.js';
import { readBody, send, type HttpRequest, type HttpResponse } from './http.js';

export interface ClientRequest {
  method: HttpRequest['method'];
  /** Path below /v2/<repository>/ (e.g. `manifests/latest`), or an absolute URL (upload locations). */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** Statuses that are not errors; anything else throws a RegistryStatusError. */
  ok: readonly number[];
}

/** A response with a status the caller did not expect, in words: "404 manifest unknown: …". */
export class RegistryStatusError extends DevboxError {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
    fix?: string,
  ) {
    super(message, { fix });
  }
}

/** The registry's own error words ({"errors":[{"code","message"}]}, spec.md "Error Codes"), if it sent some. */
function registryErrorText(body: Buffer): { code?: string; text?: string } {
  try {
    const first = (JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
    if (first?.code) {
      const words = first.code.toLowerCase().replace(/_/g, ' ');
      const detail = first.message && first.message.toLowerCase() !== words ? `: ${first.message}` : '';
      return { code: first.code, text: `${words}${detail}` };
    }
  } catch {
    // not JSON: a proxy's or server's own page
  }
  return {};
}

const STATUS_WORDS: Record<number, string> = {
  400: 'bad request',
  401: 'authentication required',
  403: 'access denied',
  404: 'not found',
  405: 'operation not supported by this registry',
  416: 'range not satisfiable',
  429: 'too many requests',
  500: 'registry error',
  502: 'bad gateway',
  503: 'registry unavailable',
};

export class RegistryClient {
  private authorization: string | undefined;
  private pinged = false;
  readonly credentials: Credentials | undefined;

  /** `credentials`: those to use; by default the ones stored for the endpoint (credentials.ts). */
  constructor(
    readonly endpoint: Endpoint,
    private readonly scopes: readonly string[],
    credentials: Credentials | undefined = findCredentials(endpoint.host, endpoint.path),
  ) {
    this.credentials = credentials;
  }

  /** A client for pulling (`pull`) or pushing (`pull,push`, plus pull access to `mountFrom` repositories). */
  static forRepository(endpoint: Endpoint, actions: readonly ('pull' | 'push')[], mountFrom: readonly string[] = []): RegistryClient {
    return new RegistryClient(endpoint, [repositoryScope(endpoint.path, actions), ...mountFrom.map((path) => repositoryScope(path, ['pull']))]);
  }

  /** `host/path`, how messages name the repository this client talks to. */
  get repository(): string {
    return `${this.endpoint.host}/${this.endpoint.path}`;
  }

  private url(path: string): URL {
    return /^https?:\/\//.test(path) ? new URL(path) : new URL(`/v2/${this.endpoint.path}/${path}`, this.endpoint.origin);
  }

  private async authorizeFor(response: HttpResponse): Promise<void> {
    const header = response.headers['www-authenticate'];
    const challenge = typeof header === 'string' ? parseChallenge(header) : undefined;
    if (!challenge) throw new DevboxError(`${this.endpoint.host} answered 401 without saying how to authenticate`);
    this.authorization = await authorize(challenge, this.scopes, this.credentials, this.endpoint.host);
  }

  /** GET /v2/: checks the endpoint speaks the API and authorizes when it asks for it. */
  async ping(): Promise<void> {
    if (this.pinged) return;
    const response = await send({ method: 'GET', url: new URL('/v2/', this.endpoint.origin) });
    response.body.resume();
    if (response.status === 401) await this.authorizeFor(response);
    else if (response.status !== 200)
      throw new RegistryStatusError(`${this.endpoint.host} is not a registry (GET /v2/ answered ${response.status})`, response.status);
    this.pinged = true;
  }

  async request(request: ClientRequest): Promise<HttpResponse> {
    await this.ping();
    const replayable = request.body === undefined || Buffer.isBuffer(request.body);
    for (let attempt = 0; ; attempt++) {
      const headers = { ...request.headers, ...(this.authorization ? { Authorization: this.authorization } : {}) };
      const response = await send({ method: request.method, url: this.url(request.path), headers, body: request.body });
      if (request.ok.includes(response.status)) return response;
      if (response.status === 401 && attempt === 0 && replayable) {
        response.body.resume();
        await this.authorizeFor(response);
        continue;
      }
      throw await this.statusError(response);
    }
  }

  private async statusError(response: HttpResponse): Promise<RegistryStatusError> {
    const body = await readBody(response, 64 * 1024, 'an error response').catch(() => Buffer.alloc(0));
    const { code, text } = registryErrorText(body);
    const words = text ?? STATUS_WORDS[response.status] ?? 'unexpected answer';
    const hint =
      response.status === 401 || response.status === 403 ? (this.credentials ? ` (with credentials from ${this.credentials.source})` : ' (not logged in)') : '';
    const fix =
      response.status === 401 || response.status === 403
        ? `devbox login ${this.endpoint.host}`
        : response.status === 404
          ? 'check the name and the tag'
          : undefined;
    return new RegistryStatusError(`${response.status} ${words}${hint}`, response.status, code, fix);
  }
}
