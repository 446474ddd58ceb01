/**
 * From devcontainer.json's `features` to the list of Features to install, in order: each one fetched (pinned
 * by devbox.lock when it is there), its devcontainer-feature.json read, its options checked, its dependsOn
 * followed recursively, equal Features (same content, same options) taken once, then ordered
 * (feature-order.ts). A mistake in devcontainer.json is reported at its file:line:col.
 */
import { dirname } from 'node:path';
import { errorAt, readConfigFile } from '../config-file.js';
import { formatLock, readLock, writeLock } from '../lock-file.js';
import type { ProjectConfig } from '../project-config.js';
import { DevboxError } from '../../util/errors.js';
import { readFeatureMetadata, type FeatureMetadata } from './feature-metadata.js';
import { FeatureOrderError, installOrder, type OrderNode } from './feature-order.js';
import { givenOptions, resolveOptions } from './feature-options.js';
import type { FeatureOptionValue } from './feature-request.js';
import { fetchFeature, ociReference, parseFeatureSource, type FeatureSource } from './feature-source.js';

/** A Feature ready to install. */
export interface ResolvedFeature {
  /** As devcontainer.json (or the Feature that depends on it) names it: the id in the image's metadata. */
  id: string;
  source: FeatureSource;
  dir: string;
  metadata: FeatureMetadata;
  /** Every option's value (given or default). */
  options: Record<string, string>;
  /** The devbox.lock key and digest, for OCI and tarball Features. */
  pin?: { key: string; digest: string };
}

export interface ResolvedFeatures {
  features: ResolvedFeature[];
  /** devbox.lock's "features" as they are now. */
  pins: Record<string, { digest: string }>;
}

/** Where a request comes from, for messages: devcontainer.json (with its JSON path) or a Feature's dependsOn. */
type Requester = { config: true } | { feature: string };

interface Request {
  id: string;
  options: Record<string, FeatureOptionValue> | string;
  from: Requester;
  /** The key of the node it became (an equal Feature's, when it was one). */
  node?: string;
}

/** The lock key of a Feature: REGISTRY/NAMESPACE/ID:TAG, or the tarball's URL; none for local ones and digests. */
function lockKey(source: FeatureSource): string | undefined {
  if (source.kind === 'tarball') return source.url;
  if (source.kind === 'oci' && !source.digest) return ociReference(source);
  return undefined;
}

/** What installsAfter, legacyIds and overrideFeatureInstallOrder compare: the reference without its version. */
function resourceOf(source: FeatureSource): string {
  return source.kind === 'oci' ? source.resource : source.kind === 'tarball' ? source.url : source.path;
}

/** A Feature id as the ordering names (installsAfter, overrideFeatureInstallOrder), without version. */
function resourceName(id: string, folder: string): string {
  const source = parseFeatureSource(id, folder);
  return 'invalid' in source ? id.toLowerCase() : resourceOf(source);
}

export async function resolveFeatures(
  project: ProjectConfig,
  storeRoot: string,
  locked: Record<string, { digest: string }>,
  update: boolean,
): Promise<ResolvedFeatures> {
  const folder = dirname(project.source.path);
  /** An error about a request: at its key in devcontainer.json (`at`: its value, or an option), or naming the Feature that depends on it. */
  const fail = (request: Request, message: string, options: { fix?: string; at?: 'value' | { option: string } } = {}): DevboxError => {
    if ('feature' in request.from) {
      const option = typeof options.at === 'object' ? ` (option "${options.at.option}")` : '';
      return new DevboxError(`Feature ${request.from.feature} depends on ${request.id}${option}, which ${message}`, { fix: options.fix });
    }
    const path = typeof options.at === 'object' ? [request.id, options.at.option] : [request.id];
    return errorAt(readConfigFile(project.source.path), ['features', ...path], message, options.fix, options.at === undefined);
  };

  const pins: Record<string, { digest: string }> = {};
  const nodes: { node: OrderNode; feature: ResolvedFeature; identity: string; requires: Request[] }[] = [];
  const queue: Request[] = project.features.map((f) => ({ id: f.id, options: f.options, from: { config: true } }));
  for (let request = queue.shift(); request; request = queue.shift()) {
    const source = parseFeatureSource(request.id, folder);
    if ('invalid' in source) throw fail(request, source.invalid);
    const key = lockKey(source);
    let content: Awaited<ReturnType<typeof fetchFeature>>;
    try {
      content = await fetchFeature(storeRoot, source, update || !key ? undefined : locked[key]?.digest);
    } catch (error) {
      if (!(error instanceof DevboxError)) throw error;
      throw fail(request, `cannot be fetched: ${error.message}`, { fix: error.fix });
    }
    const metadata = readFeatureMetadata(content.dir, request.id);
    const parsed = givenOptions(request.options, metadata);
    if (!parsed.ok) throw fail(request, parsed.reason, { at: 'value' });
    const given = parsed.value;
    const { values, problems } = resolveOptions(given, metadata);
    if (problems.length) throw fail(request, problems[0].message, { at: { option: problems[0].option! } });
    if (key && content.digest) pins[key] = { digest: content.digest };
    // Equal Features (the spec's "Feature Equality") are installed once: same content, same options.
    const identity = JSON.stringify([content.digest ?? content.dir, Object.entries(given).sort()]);
    const existing = nodes.find((n) => n.identity === identity);
    if (existing) {
      request.node = existing.node.key;
      continue;
    }
    request.node = nodes.some((n) => n.node.key === request!.id) ? `${request.id} ${JSON.stringify(given)}` : request.id;
    const feature: ResolvedFeature = {
      id: request.id,
      source,
      dir: content.dir,
      metadata,
      options: values,
      ...(key && content.digest ? { pin: { key, digest: content.digest } } : {}),
    };
    const requires = Object.entries(metadata.dependsOn ?? {}).map(([id, options]): Request => ({ id, options, from: { feature: request!.id } }));
    queue.push(...requires);
    const node: OrderNode = {
      key: request.node,
      resource: resourceOf(source),
      aliases: (metadata.legacyIds ?? []).map((legacy) => resourceOf(source).replace(/[^/]+$/, legacy)),
      ...(source.kind === 'oci' && source.tag ? { tag: source.tag } : {}),
      options: given,
      ...(content.digest ? { digest: content.digest } : {}),
      dependsOn: [], // once every request has become a node
      installsAfter: (metadata.installsAfter ?? []).map((id) => resourceName(id, folder)),
    };
    nodes.push({ node, feature, identity, requires });
  }
  for (const { node, requires } of nodes) node.dependsOn = requires.map((r) => r.node!);
  let order: OrderNode[];
  try {
    order = installOrder(
      nodes.map((n) => n.node),
      project.featureInstallOrder.map((id) => resourceName(id, folder)),
    );
  } catch (error) {
    if (!(error instanceof FeatureOrderError)) throw error;
    const key = error.message.startsWith('overrideFeatureInstallOrder') ? 'overrideFeatureInstallOrder' : 'features';
    const fix = key === 'features' ? 'change dependsOn, installsAfter or overrideFeatureInstallOrder so that no Feature waits for itself' : undefined;
    throw errorAt(readConfigFile(project.source.path), [key], error.message.replace(/^overrideFeatureInstallOrder /, ''), fix, true);
  }
  return { features: order.map((o) => nodes.find((n) => n.node === o)!.feature), pins };
}

/**
 * The project's Features resolved with devbox.lock's pins (with `update`, every tag and URL fetched again), and
 * the lock's "features" rewritten when they changed: new pins added, those no longer used dropped.
 */
export async function lockFeatures(project: ProjectConfig, storeRoot: string, update: boolean): Promise<ResolvedFeatures & { changed: boolean }> {
  const lock = readLock(project.root);
  const resolved = project.features.length ? await resolveFeatures(project, storeRoot, lock.features, update) : { features: [], pins: {} };
  const changed = JSON.stringify(formatLock({ ...lock, features: resolved.pins })) !== JSON.stringify(formatLock(lock));
  if (changed) await writeLock(project.root, { ...lock, features: resolved.pins });
  return { ...resolved, changed };
}
