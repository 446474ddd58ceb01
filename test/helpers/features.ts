/**
 * Dev Container Features for the tests: folders written from a description, packed as devcontainers/cli
 * packages them (a tar of the folder), and published to a registry as the distribution spec says
 * (containers.dev/implementors/features-distribution): an OCI manifest with the `application/vnd.devcontainers`
 * config (empty), one `application/vnd.devcontainers.layer.v1+tar` layer and the `dev.containers.metadata`
 * annotation, pushed through devbox's own registry client.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RegistryClient } from '../../src/registry/client.js';
import { registryEndpoint } from '../../src/registry/endpoints.js';
import { parseReference } from '../../src/image/reference.js';
import { packTar, type TarEntry } from './images.js';

export interface FeatureFiles {
  /** devcontainer-feature.json's content. */
  metadata: Record<string, unknown>;
  /** install.sh (made executable). */
  install: string;
  /** Other files, by path in the Feature's folder. */
  files?: Record<string, string>;
}

/** Writes the Feature's folder at `dir`. */
export function writeFeature(dir: string, feature: FeatureFiles): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'devcontainer-feature.json'), `${JSON.stringify(feature.metadata, null, 2)}\n`);
  writeFileSync(join(dir, 'install.sh'), feature.install);
  chmodSync(join(dir, 'install.sh'), 0o755);
  for (const [path, content] of Object.entries(feature.files ?? {})) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** The folder as a tar, entries named `./path` as `tar -C DIR .` writes them. */
export function packFeature(dir: string): Promise<Buffer> {
  const entries: TarEntry[] = [{ name: './', type: 'directory' }];
  const walk = (folder: string) => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      const stats = statSync(path);
      const rel = `./${relative(dir, path)}`;
      if (stats.isDirectory()) {
        entries.push({ name: `${rel}/`, type: 'directory', mode: stats.mode & 0o777 });
        walk(path);
      } else entries.push({ name: rel, content: readFileSync(path), mode: stats.mode & 0o777 });
    }
  };
  walk(dir);
  return packTar(entries);
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function putBlob(client: RegistryClient, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const opened = await client.request({ method: 'POST', path: 'blobs/uploads/', headers: { 'Content-Length': '0' }, ok: [202] });
  opened.body.resume();
  const location = new URL(opened.headers.location!, opened.url);
  location.searchParams.set('digest', digest);
  const put = await client.request({
    method: 'PUT',
    path: location.toString(),
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(data.length) },
    body: data,
    ok: [201],
  });
  put.body.resume();
  return digest;
}

/** Publishes the Feature folder `dir` as `reference` (REGISTRY/NAMESPACE/ID:TAG); returns the manifest's digest. */
export async function publishFeature(dir: string, reference: string): Promise<string> {
  const ref = parseReference(reference);
  const client = RegistryClient.forRepository(registryEndpoint(ref, { insecureRegistries: [] }), ['pull', 'push']);
  const layer = await packFeature(dir);
  const config = Buffer.alloc(0);
  await putBlob(client, config);
  await putBlob(client, layer);
  const id = JSON.parse(readFileSync(join(dir, 'devcontainer-feature.json'), 'utf8')).id as string;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.devcontainers', digest: sha256(config), size: 0 },
      layers: [
        {
          mediaType: 'application/vnd.devcontainers.layer.v1+tar',
          digest: sha256(layer),
          size: layer.length,
          annotations: { 'org.opencontainers.image.title': `devcontainer-feature-${id}.tgz` },
        },
      ],
      annotations: { 'dev.containers.metadata': readFileSync(join(dir, 'devcontainer-feature.json'), 'utf8') },
    }),
  );
  const response = await client.request({
    method: 'PUT',
    path: `manifests/${ref.tag ?? 'latest'}`,
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
    ok: [201],
  });
  response.body.resume();
  return sha256(manifest);
}
