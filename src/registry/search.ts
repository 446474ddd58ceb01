/**
 * `devbox search`: repositories of a registry that match a term, and the tags of one repository. A registry
 * is searched through its catalog (distribution's GET /v2/_catalog, paged by its Link header), which most
 * self-hosted registries offer; Docker Hub has no catalog and is searched through its v1 search API. Mirrors
 * come first, as for pulls, so a registry whose mirror stands in for it (offline, or behind a firewall) is
 * searched there; names are shown under the registry asked for, as pulls name what they fetch.
 */
import { DEFAULT_REGISTRY, splitRegistry } from '../image/reference.js';
import type { Settings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';
import { RegistryClient } from './client.js';
import { type Endpoint, registryEndpoints } from './endpoints.js';
import { readBody, send } from './http.js';

/** One found repository, with docker search's fields (a catalog knows only names). */
export interface SearchResult {
  Index: string;
  Name: string;
  Description: string;
  Stars: number;
  Official: boolean;
  Automated: boolean;
}

export interface TagResult {
  Name: string;
  Tag: string;
}

type SearchSettings = Pick<Settings, 'registryMirrors' | 'insecureRegistries'>;

/** Catalog and tag-list pages are small JSON documents; this bounds what one may cost. */
const PAGE_LIMIT = 4 * 1024 * 1024;
const PAGE_SIZE = 100;
const DOCKER_HUB_SEARCH = 'https://index.docker.io/v1/search';

/** The registry a term names (docker.io when none) and what to look for there. */
export function searchTarget(term: string): { registry: string; query: string } {
  const { registry, rest } = splitRegistry(term);
  return { registry: registry ?? DEFAULT_REGISTRY, query: rest };
}

function parseJson(body: Buffer, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // said below, in words
  }
  throw new DevboxError(`${what} is not a JSON object`);
}

/** GETs `path` and every page its Link headers lead to, collecting `field` of each page, up to `limit` items. */
async function paged(client: RegistryClient, path: string, field: string, limit: number): Promise<string[]> {
  const items: string[] = [];
  for (let url: string | undefined = new URL(path, client.endpoint.origin).href; url && items.length < limit; ) {
    const response = await client.request({ method: 'GET', path: url, ok: [200] });
    const values = parseJson(await readBody(response, PAGE_LIMIT, `the registry's answer to ${path}`), `${client.endpoint.host}'s answer to ${path}`)[field];
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string'))
      throw new DevboxError(`${client.endpoint.host} answered ${path} without a list of ${field}`);
    items.push(...(values as string[]));
    const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(String(response.headers.link ?? ''))?.[1];
    url = next ? new URL(next, response.url).href : undefined;
  }
  return items.slice(0, limit);
}

async function searchCatalog(endpoint: Endpoint, registry: string, query: string, limit: number): Promise<SearchResult[]> {
  const client = new RegistryClient(endpoint, ['registry:catalog:*']);
  // A catalog lists every repository: read it whole (bounded by the page size and count) and filter here.
  const names = await paged(client, `/v2/_catalog?n=${PAGE_SIZE}`, 'repositories', 100 * PAGE_SIZE);
  const prefix = endpoint.path ? `${endpoint.path}/` : '';
  const needle = query.toLowerCase();
  return names
    .filter((n) => n.startsWith(prefix) && n.slice(prefix.length).toLowerCase().includes(needle))
    .slice(0, limit)
    .map((n) => ({ Index: registry, Name: `${registry}/${n.slice(prefix.length)}`, Description: '', Stars: 0, Official: false, Automated: false }));
}

async function searchDockerHub(query: string, limit: number): Promise<SearchResult[]> {
  const url = new URL(DOCKER_HUB_SEARCH);
  url.searchParams.set('q', query);
  url.searchParams.set('n', String(limit));
  const response = await send({ method: 'GET', url });
  const body = await readBody(response, PAGE_LIMIT, "Docker Hub's search answer");
  if (response.status !== 200) throw new DevboxError(`Docker Hub's search answered ${response.status}`);
  const results = parseJson(body, "Docker Hub's search answer").results;
  if (!Array.isArray(results)) throw new DevboxError("Docker Hub's search answered without results");
  return (results as Record<string, unknown>[]).slice(0, limit).map((r) => {
    const name = String(r.name ?? '');
    return {
      Index: DEFAULT_REGISTRY,
      Name: `${DEFAULT_REGISTRY}/${name.includes('/') ? name : `library/${name}`}`,
      Description: String(r.description ?? ''),
      Stars: Number(r.star_count ?? 0),
      Official: r.is_official === true,
      Automated: r.is_automated === true,
    };
  });
}

/** Tries each endpoint of `registry` in turn (mirrors first); the last one's failure is the error. */
async function fromEndpoints<T>(registry: string, settings: SearchSettings, what: string, attempt: (endpoint: Endpoint) => Promise<T>): Promise<T> {
  const endpoints = registryEndpoints(registry, settings);
  const failures: string[] = [];
  for (const endpoint of endpoints) {
    try {
      return await attempt(endpoint);
    } catch (error) {
      if (!(error instanceof DevboxError)) throw error;
      failures.push(`${endpoint.host}: ${error.message}`);
    }
  }
  const mirrors = endpoints.length > 1 ? '' : `, or set "registryMirrors" for ${registry} to a registry that has one`;
  throw new DevboxError(`cannot ${what} (${failures.join('; ')})`, { fix: `check the registry's address${mirrors}` });
}

/** Repositories of the registry the term names whose name contains the rest of the term, at most `limit`. */
export async function searchRegistry(term: string, limit: number, settings: SearchSettings): Promise<SearchResult[]> {
  const { registry, query } = searchTarget(term);
  return fromEndpoints(registry, settings, `search ${registry}`, (endpoint) =>
    registry === DEFAULT_REGISTRY && !endpoint.mirror ? searchDockerHub(query, limit) : searchCatalog(endpoint, registry, query, limit),
  );
}

/** The tags of one repository (podman's `search --list-tags`), at most `limit`. */
export async function listTags(repository: string, limit: number, settings: SearchSettings): Promise<TagResult[]> {
  const { registry, query } = searchTarget(repository);
  const path = registry === DEFAULT_REGISTRY && !query.includes('/') ? `library/${query}` : query;
  if (!path) throw new DevboxError('--list-tags needs a repository, e.g. registry.example.org/team/app', { kind: 'usage' });
  return fromEndpoints(registry, settings, `list the tags of ${registry}/${path}`, async (endpoint) => {
    const where = endpoint.path ? `${endpoint.path}/${path}` : path;
    const client = RegistryClient.forRepository({ ...endpoint, path: where }, ['pull']);
    const tags = await paged(client, `/v2/${where}/tags/list?n=${PAGE_SIZE}`, 'tags', limit);
    return tags.map((tag) => ({ Name: `${registry}/${path}`, Tag: tag }));
  });
}
