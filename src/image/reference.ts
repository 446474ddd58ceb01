/**
 * Image references parsed and normalized as Docker does: `busybox` is `docker.io/library/busybox:latest`,
 * `user/app` is `docker.io/user/app`, a first component with a dot, a colon or `localhost` is a registry.
 * Grammar from the distribution spec: lowercase path components separated by `.`, `_`, `__` or `-`s;
 * tags `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`; digests `sha256:` and 64 hex digits. Pure: no store, no network.
 */
import { DevboxError } from '../util/errors.js';
import { abbreviate } from '../util/format.js';

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';

const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const DOMAIN_COMPONENT = '(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])';
const DOMAIN = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?$`);
/** Docker refuses a repository name that looks like an image id, which would be ambiguous. */
const IMAGE_ID = /^[a-f0-9]{64}$/;
/** The old name of Docker Hub's registry. */
const LEGACY_DEFAULT_REGISTRY = 'index.docker.io';

export interface ImageReference {
  /** Registry host[:port], e.g. docker.io. */
  domain: string;
  /** Repository path, e.g. library/busybox. */
  path: string;
  tag?: string;
  digest?: string;
}

function invalid(text: string, why: string): DevboxError {
  return new DevboxError(`invalid reference "${abbreviate(text)}": ${why}`, { kind: 'usage' });
}

/** The largest TCP port. */
const MAX_PORT = 65535;

/**
 * Splits a leading registry off `text` by Docker's rule: a first component with a dot, a colon or `localhost`
 * (or capitals) names a registry. `registry` is undefined when there is none; index.docker.io is docker.io.
 */
export function splitRegistry(text: string, quoted = text): { registry?: string; rest: string } {
  const slash = text.indexOf('/');
  const first = slash < 0 ? '' : text.slice(0, slash);
  if (slash < 0 || !(first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) return { rest: text };
  if (!DOMAIN.test(first)) throw invalid(quoted, `"${abbreviate(first, 40)}" is not a registry host[:port]`);
  const port = first.includes(':') ? Number(first.slice(first.lastIndexOf(':') + 1)) : undefined;
  if (port !== undefined && !(port >= 1 && port <= MAX_PORT)) throw invalid(quoted, `port ${port} is out of range (1-${MAX_PORT})`);
  return { registry: first === LEGACY_DEFAULT_REGISTRY ? DEFAULT_REGISTRY : first, rest: text.slice(slash + 1) };
}

export function parseReference(text: string): ImageReference {
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(text, 'a digest is sha256: and 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw invalid(text, 'a tag is up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"');
  }
  if (!rest) throw invalid(text, 'no repository name');
  const split = splitRegistry(rest, text);
  const hasDomain = split.registry !== undefined;
  const domain = split.registry ?? DEFAULT_REGISTRY;
  let path = split.rest;
  if (!hasDomain && IMAGE_ID.test(path)) throw invalid(text, 'a repository name cannot be 64 hexadecimal digits (that is an image id)');
  if (domain === DEFAULT_REGISTRY && !path.includes('/')) path = `library/${path}`;
  for (const component of path.split('/')) {
    if (!COMPONENT.test(component)) {
      throw invalid(text, `"${abbreviate(component, 40)}" must be lowercase letters and digits, separated by ".", "_", "__" or "-"`);
    }
  }
  if (domain.length + 1 + path.length > 255) throw invalid(text, 'the name is longer than 255 characters');
  return { domain, path, tag, digest };
}

/** Repository name with its registry: docker.io/library/busybox. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The name an image is stored under: repository:tag, `latest` when no tag was given. */
export function normalizedName(ref: ImageReference): string {
  return `${repositoryName(ref)}:${ref.tag ?? DEFAULT_TAG}`;
}

/**
 * The store name for NAME[:TAG] given as a new name for an image (import, tag): normalized; a digest cannot be
 * given, since the image's digest comes from its content.
 */
export function nameForTagging(text: string, action: string): string {
  const ref = parseReference(text);
  if (ref.digest) throw new DevboxError(`cannot ${action} "${text}": give NAME[:TAG]; the image's digest comes from its content`, { kind: 'usage' });
  return normalizedName(ref);
}

/** Docker's short display form: busybox:latest, user/app:1, host:5000/x:y. */
export function familiarName(name: string): string {
  const prefix = `${DEFAULT_REGISTRY}/`;
  if (!name.startsWith(prefix)) return name;
  const rest = name.slice(prefix.length);
  const official = rest.slice('library/'.length);
  return rest.startsWith('library/') && !official.includes('/') ? official : rest;
}
