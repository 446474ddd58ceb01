/**
 * A throwaway image store (and podman store) for one image test file. Everything lives in one temp dir,
 * removed afterwards as root of the user namespace, since unpacked layers belong to subordinate ids.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { hostArchitecture } from '../../src/image/oci.js';
import { idMappingFingerprint, resolveIdMapping, type IdMapping } from '../../src/userns/idmap.js';
import { removeAsNamespaceRoot } from '../../src/storage/remove.js';
import { devbox, type CliOptions, type CliResult } from './cli.js';
import { packTar, type TarEntry } from './images.js';

export interface ImageSuite {
  dir: string;
  storeRoot: string;
  mapping: IdMapping;
  /** A fresh directory inside the suite's. */
  tempDir(prefix: string): Promise<string>;
  devbox(args: readonly string[], options?: CliOptions): Promise<CliResult>;
  /** Runs devbox and throws with its stderr unless it exits 0. */
  devboxOk(args: readonly string[], options?: CliOptions): Promise<CliResult>;
  /** podman with its own store in the suite's dir; a failure throws with podman's stderr. */
  podman(args: readonly string[]): string;
  /** The same podman, its status and output whatever they are (for differential tests of failures too). */
  podmanResult(args: readonly string[]): CliResult;
  /** `devbox image inspect REF`, parsed. */
  inspect(ref: string): Promise<{ Id: string; Digest: string; RepoTags: string[]; RootFS: { Layers: string[] } }>;
  /** Unpacked directory of a layer (by diffID) for the current id map. */
  layerPath(diffID: string): string;
  /** The store's blobs, layers, temp files and index, to compare before and after a failed command. */
  snapshot(): string;
  cleanup(): Promise<void>;
}

/** fn, run once; later calls share its promise (and its failure). */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= fn());
}

/** pid of rootless podman's pause process, if there is one. */
function podmanPausePid(): number | undefined {
  // podman's own fallback when XDG_RUNTIME_DIR is unset: $TMPDIR/podman-run-UID.
  const runtimeDir = process.env.XDG_RUNTIME_DIR || join(process.env.TMPDIR || '/tmp', `podman-run-${process.getuid!()}`);
  try {
    const pid = Number(readFileSync(join(runtimeDir, 'libpod', 'tmp', 'pause.pid'), 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export async function createImageSuite(name: string): Promise<ImageSuite> {
  const dir = await mkdtemp(join(tmpdir(), `devbox-${name}-`));
  const env = { XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
  const storeRoot = join(dir, 'data', 'devbox');
  const { mapping } = resolveIdMapping();
  const pauseBefore = podmanPausePid();
  // podman refuses a run root longer than 50 characters, which a suite dir under a long TMPDIR can be.
  const podmanRunRoot = await mkdtemp('/tmp/devbox-podman-');
  // Rootful podman raises a container's open-file and process limits to 1048576 and 4194304, which root
  // without CAP_SYS_RESOURCE (a CI container's bounding set may lack it) cannot: limits it can set instead.
  const podmanConf = join(dir, 'containers.conf');
  writeFileSync(podmanConf, '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n');
  const podmanEnv = process.getuid!() === 0 ? { ...process.env, CONTAINERS_CONF: podmanConf } : process.env;
  let counter = 0;
  const list = (path: string) => (existsSync(path) ? readdirSync(path).sort().join(',') : '');
  const run = (args: readonly string[], options: CliOptions = {}) => devbox(args, { ...options, env: { ...env, ...options.env } });
  const suite: ImageSuite = {
    dir,
    storeRoot,
    mapping,
    tempDir: (prefix) => mkdtemp(join(dir, `${prefix}-${counter++}-`)),
    devbox: run,
    devboxOk: async (args, options) => {
      const result = await run(args, options);
      if (result.exitCode !== 0) throw new Error(`devbox ${args.join(' ')} exited ${result.exitCode}: ${result.stderr.trim()}`);
      return result;
    },
    podmanResult: (args) => {
      const store = ['--root', join(dir, 'podman', 'root'), '--runroot', podmanRunRoot, '--storage-driver', 'vfs'];
      const result = spawnSync('podman', ['--runtime', 'runc', ...store, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: podmanEnv });
      if (result.error) throw new Error(`podman ${args.join(' ')} could not run (these tests need podman usable by this user): ${result.error.message}`);
      return { stdout: result.stdout, stderr: result.stderr, exitCode: result.status ?? 128 };
    },
    podman: (args) => {
      const result = suite.podmanResult(args);
      if (result.exitCode !== 0) throw new Error(`podman ${args.join(' ')} failed (these tests need podman usable by this user): ${result.stderr.trim()}`);
      return result.stdout;
    },
    inspect: async (ref) => JSON.parse((await suite.devboxOk(['image', 'inspect', ref])).stdout)[0],
    layerPath: (diffID) => join(storeRoot, 'layers', idMappingFingerprint(mapping), diffID.slice('sha256:'.length)),
    snapshot: () => {
      const index = join(storeRoot, 'images.json');
      return [
        list(join(storeRoot, 'blobs', 'sha256')),
        list(join(storeRoot, 'layers', idMappingFingerprint(mapping))),
        list(join(storeRoot, 'tmp')),
        existsSync(index) ? readFileSync(index, 'utf8') : '',
      ].join('\n');
    },
    cleanup: async () => {
      await removeAsNamespaceRoot(mapping, [dir, podmanRunRoot]);
      const pause = podmanPausePid();
      if (pause !== undefined && pause !== pauseBefore) process.kill(pause, 'SIGTERM'); // the one these tests started
    },
  };
  return suite;
}

const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export interface ArchiveImage {
  /** Layer tars as stored in the archive (plain or gzip). */
  layers: Buffer[];
  names?: string[];
  /** diffIDs the config claims; by default the digests of the (uncompressed) layers. */
  diffIDs?: string[];
  config?: Record<string, unknown>;
}

function imageConfig(image: ArchiveImage): string {
  return JSON.stringify({
    created: '2024-01-01T00:00:00Z',
    architecture: hostArchitecture(),
    os: 'linux',
    config: image.config ?? {},
    rootfs: { type: 'layers', diff_ids: image.diffIDs ?? image.layers.map((l) => sha256(l[0] === 0x1f && l[1] === 0x8b ? gunzipSync(l) : l)) },
    history: image.layers.map(() => ({ created_by: 'test layer' })),
  });
}

/**
 * A docker-archive as `docker save` writes it: <config digest>.json, layers as `<id>/layer.tar` (legacy) or
 * `blobs/sha256/<digest>` (Docker ≥ 25, which also adds an OCI layout), and manifest.json.
 */
export function dockerArchive(images: ArchiveImage[], layout: 'legacy' | 'docker25' = 'legacy'): Promise<Buffer> {
  const entries: TarEntry[] = [];
  const manifest = images.map((image) => {
    const config = imageConfig(image);
    const configName = layout === 'legacy' ? `${sha256(config).slice(7)}.json` : `blobs/sha256/${sha256(config).slice(7)}`;
    entries.push({ name: configName, content: config });
    const layers = image.layers.map((layer, i) => {
      const name = layout === 'legacy' ? `${sha256(`${i}${sha256(layer)}`).slice(7)}/layer.tar` : `blobs/sha256/${sha256(layer).slice(7)}`;
      entries.push({ name, content: layer });
      return name;
    });
    return { Config: configName, RepoTags: image.names ?? null, Layers: layers };
  });
  entries.push({ name: 'manifest.json', content: JSON.stringify(manifest) });
  if (layout === 'docker25')
    entries.push({ name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', content: '{"schemaVersion":2,"manifests":[]}' });
  return packTar(entries);
}

/** An oci-archive (OCI image layout in a tar); `refName` goes into org.opencontainers.image.ref.name. */
export function ociArchive(images: (ArchiveImage & { refName?: string })[]): Promise<Buffer> {
  const blobs = new Map<string, Buffer | string>();
  const add = (data: Buffer | string) => {
    const digest = sha256(data);
    blobs.set(digest, data);
    return { digest, size: Buffer.byteLength(data) };
  };
  const manifests = images.map((image) => {
    const config = add(imageConfig(image));
    const layers = image.layers.map((l) => ({
      mediaType: l[0] === 0x1f ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
      ...add(l),
    }));
    const manifest = add(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers,
      }),
    );
    return {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...manifest,
      ...(image.refName ? { annotations: { 'org.opencontainers.image.ref.name': image.refName } } : {}),
    };
  });
  return packTar([
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    ...[...blobs].map(([digest, data]): TarEntry => ({ name: `blobs/sha256/${digest.slice(7)}`, content: data })),
    { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, manifests }) },
  ]);
}
