/**
 * Pulling an OCI artifact that is not an image: a manifest whose config and layer have media types of their
 * own (image-spec manifest.md, "Guidelines for Artifact Usage"), such as a Dev Container Feature
 * (`application/vnd.devcontainers` config, one `application/vnd.devcontainers.layer.v1+tar` layer). The same
 * client as image pulls: mirrors first, stored credentials, the manifest checked against the digest it was
 * asked by, the layer against its descriptor. Artifacts are small; the layer is read into memory.
 */
import { createHash } from 'node:crypto';
import type { Descriptor } from '../image/oci.js';
import { MediaType } from '../image/oci.js';
import { normalizedName, parseReference, repositoryName } from '../image/reference.js';
import { readSettings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';
import { RegistryClient } from './client.js';
import { pullEndpoints, type Endpoint } from './endpoints.js';
import { readBody } from './http.js';
import { fetchManifest } from './manifest.js';

export interface ArtifactManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface PulledArtifact {
  /** REPOSITORY@DIGEST of the manifest: what a lock pins. */
  pinned: string;
  digest: string;
  manifest: ArtifactManifest;
  /** The layer of the wanted media type, verified. */
  layer: Buffer;
  layerDigest: string;
}

export interface ArtifactKind {
  /** Words for messages: "Feature". */
  what: string;
  configMediaType: string;
  layerMediaType: string;
  /** Largest layer accepted. */
  limit: number;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function parseArtifactManifest(bytes: Buffer, kind: ArtifactKind): ArtifactManifest {
  let value: ArtifactManifest;
  try {
    value = JSON.parse(bytes.toString('utf8')) as ArtifactManifest;
  } catch {
    throw new DevboxError('the registry sent a manifest that is not valid JSON');
  }
  const descriptorOk = (d: Descriptor | undefined) =>
    !!d && typeof d.mediaType === 'string' && DIGEST.test(d.digest) && Number.isSafeInteger(d.size) && d.size >= 0;
  if (value?.schemaVersion !== 2 || !descriptorOk(value.config) || !Array.isArray(value.layers) || !value.layers.every(descriptorOk)) {
    throw new DevboxError('the manifest is not an OCI manifest (schemaVersion 2 with a config and layers)');
  }
  if (value.mediaType !== undefined && value.mediaType !== MediaType.ociManifest) {
    throw new DevboxError(`the manifest has media type ${value.mediaType}, not a ${kind.what} (${MediaType.ociManifest})`);
  }
  if (value.config.mediaType !== kind.configMediaType) {
    throw new DevboxError(`it is not a ${kind.what}: its config has media type ${value.config.mediaType}, not ${kind.configMediaType}`);
  }
  return value;
}

async function pullFrom(client: RegistryClient, reference: string, repository: string, kind: ArtifactKind): Promise<PulledArtifact> {
  const fetched = await fetchManifest(client, reference);
  const manifest = parseArtifactManifest(fetched.bytes, kind);
  const descriptor = manifest.layers.find((layer) => layer.mediaType === kind.layerMediaType);
  if (!descriptor) throw new DevboxError(`the ${kind.what} has no layer of media type ${kind.layerMediaType}`);
  if (descriptor.size > kind.limit)
    throw new DevboxError(`its layer is ${descriptor.size} bytes, more than the ${kind.limit} devbox accepts for a ${kind.what}`);
  const response = await client.request({ method: 'GET', path: `blobs/${descriptor.digest}`, ok: [200] });
  const layer = await readBody(response, descriptor.size, `layer ${descriptor.digest}`);
  const digest = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
  if (layer.length !== descriptor.size || digest !== descriptor.digest) {
    throw new DevboxError(`layer ${descriptor.digest}: the registry sent other content (${layer.length} bytes, ${digest})`, {
      fix: 'the registry or a proxy altered it',
    });
  }
  return { pinned: `${repository}@${fetched.digest}`, digest: fetched.digest, manifest, layer, layerDigest: digest };
}

/** Where an artifact was looked for, for messages: "mirror 127.0.0.1:5000, then ghcr.io". */
function describeEndpoints(endpoints: readonly Endpoint[]): string {
  return endpoints.map((e) => (e.mirror ? `mirror ${e.host}` : e.host)).join(', then ');
}

/**
 * Pulls `refText` (tag or digest) from the mirrors of its registry, then the registry. A failure names
 * where devbox looked and, when no mirror is set, the setting that adds one.
 */
export async function pullArtifact(refText: string, kind: ArtifactKind): Promise<PulledArtifact> {
  const ref = parseReference(refText);
  const settings = readSettings();
  const endpoints = pullEndpoints(ref, settings);
  const errors: string[] = [];
  for (const endpoint of endpoints) {
    try {
      return await pullFrom(RegistryClient.forRepository(endpoint, ['pull']), ref.digest ?? ref.tag ?? 'latest', repositoryName(ref), kind);
    } catch (error) {
      if (!(error instanceof DevboxError)) throw error;
      errors.push(endpoints.length > 1 ? `${endpoint.host}: ${error.toLine()}` : error.toLine());
    }
  }
  const mirrorHint = endpoints.some((e) => e.mirror)
    ? `looked in ${describeEndpoints(endpoints)}; check the "registryMirrors" setting`
    : `no registry mirror is set for ${ref.domain}: devbox config set registryMirrors '{"${ref.domain}": ["HOST:PORT"]}'`;
  const name = ref.digest ? `${repositoryName(ref)}@${ref.digest}` : normalizedName(ref);
  throw new DevboxError(`cannot pull ${name}: ${errors.join('; ')}`, { fix: mirrorHint });
}
