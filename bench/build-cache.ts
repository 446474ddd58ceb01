/**
 * A build cache shared through a registry: a template's Dockerfile built on stores of their own (machines of
 * their own) against one local registry (docker-registry on 127.0.0.1) that also serves the Debian base image
 * as debian:bookworm-slim (devbox's registryMirrors; podman pulls it by its address and tags it). Store A builds
 * cold and writes its steps to the registry (`--cache-to …,mode=max`, what CI does); store B builds cold
 * without a cache (the reference); store C's first build takes them (`--cache-from`). Target: C ≤ 0.1× B, and
 * C's image identical to A's. The same three builds with podman (`podman build --layers --cache-to/--cache-from
 * REPO`, which pushes and pulls its intermediate images) give the peer's figure. Each store is new, so each
 * cold build downloads its packages from Debian's mirror, for both tools.
 * The cached build's steps and transfers of a second or more are printed: where its seconds go.
 * Usage: node dist/bench/build-cache.js [TEMPLATE] (default base); DEVBOX_BENCH_PEER=none leaves podman out
 * (devbox's figures against its own cold build only, to profile).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEVBOX_BIN } from '../test/helpers/cli.js';
import { seedImage, startRegistry } from '../test/helpers/registry.js';
import { cachedMinbase, sh, slowSteps } from './measure.js';

const template = process.argv[2] ?? 'base';

const work = mkdtempSync(join(tmpdir(), 'devbox-bench-build-cache-'));
process.env.DEVBOX_TEST_TMP = work; // where the test helpers keep skopeo's credentials file
mkdirSync(join(work, 'registry'));
const registry = await startRegistry(join(work, 'registry'));
const podmanRoots: string[] = [];
try {
  const storeEnv = (name: string) => ({ ...process.env, XDG_DATA_HOME: join(work, name, 'data'), XDG_CONFIG_HOME: join(work, name, 'config') });
  sh(process.execPath, [DEVBOX_BIN, 'image', 'import', cachedMinbase('minbase-bookworm', [], 'DEVBOX_BENCH_ROOTFS'), 'debian:bookworm-slim'], storeEnv('seed'));
  const archive = join(work, 'debian-archive.tar');
  sh(process.execPath, [DEVBOX_BIN, 'image', 'save', '-o', archive, 'debian:bookworm-slim'], storeEnv('seed'));
  await seedImage(archive, `${registry.host}/library/debian:bookworm-slim`);
  const context = join(work, 'context');
  mkdirSync(context);
  copyFileSync(new URL(`../../templates/${template}/Dockerfile`, import.meta.url), join(context, 'Dockerfile'));

  const timed = (cmd: string, args: string[], env: NodeJS.ProcessEnv) => {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, encoding: 'utf8', maxBuffer: 64 << 20 });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
    return { out: r.stdout.trim().split('\n').pop()!, ms, progress: r.stderr };
  };
  const devbox = (store: string, cacheArgs: string[]) => {
    const env = storeEnv(store);
    sh(process.execPath, [DEVBOX_BIN, 'config', 'set', 'registryMirrors', JSON.stringify({ 'docker.io': [registry.host] })], env);
    return timed(process.execPath, [DEVBOX_BIN, 'build', '--progress=plain', ...cacheArgs, '-t', `bench-${template}`, context], env);
  };
  const podman = (store: string, cacheArgs: string[]) => {
    const root = join(work, `podman-${store}`);
    podmanRoots.push(root);
    const args = (rest: string[]) => ['--runtime', 'runc', '--root', join(root, 'root'), '--runroot', join(root, 'run'), ...rest];
    sh('podman', args(['pull', '-q', '--tls-verify=false', `${registry.host}/library/debian:bookworm-slim`]));
    sh('podman', args(['tag', `${registry.host}/library/debian:bookworm-slim`, 'docker.io/library/debian:bookworm-slim']));
    const build = ['build', '-q', '--pull=never', '--layers', '--tls-verify=false', ...cacheArgs, '-t', `bench-${template}`, context];
    return timed('podman', args(build), process.env);
  };

  const cache = `${registry.host}/team/${template}`;
  const rows = {
    devbox: {
      writing: devbox('a', ['--cache-to', `type=registry,ref=${cache}:buildcache,mode=max`]),
      cold: devbox('b', []),
      cached: devbox('c', ['--cache-from', `type=registry,ref=${cache}:buildcache`]),
    },
    podman:
      process.env.DEVBOX_BENCH_PEER === 'none'
        ? undefined
        : {
            writing: podman('a', ['--cache-to', `${cache}-podman`]),
            cold: podman('b', []),
            cached: podman('c', ['--cache-from', `${cache}-podman`]),
          },
  };
  console.log(`the ${template} template's Dockerfile, each build on a store of its own, one local registry for the base image and the cache`);
  const row = (name: string, ms: number, cold: number, peer: number | undefined) =>
    console.log(
      `${name.padEnd(48)} ${(ms / 1000).toFixed(2).padStart(7)} s   ${(ms / cold).toFixed(3)}x its cold${peer ? `   ${(ms / peer).toFixed(3)}x podman` : ''}`,
    );
  for (const tool of ['devbox', 'podman'] as const) {
    const r = rows[tool];
    if (!r) continue;
    const peer = rows.podman;
    row(`${tool}: cold, writing the cache (mode=max)`, r.writing.ms, r.cold.ms, peer?.writing.ms);
    row(`${tool}: cold, no cache`, r.cold.ms, r.cold.ms, peer?.cold.ms);
    row(`${tool}: first build with the cache`, r.cached.ms, r.cold.ms, peer?.cached.ms);
    if (tool === 'devbox') for (const line of slowSteps(r.cached.progress, 0.2)) console.log(`    ${line}`);
  }
  const same = rows.devbox.cached.out === rows.devbox.writing.out;
  console.log(
    `devbox: the cached build's image ${same ? 'is identical to' : 'DIFFERS from'} the one that wrote the cache (${rows.devbox.writing.out.slice(0, 19)})`,
  );
  console.log('target: first build with the cache <= 0.1x its cold build');
} finally {
  await registry.stop();
  for (const root of podmanRoots) spawnSync('podman', ['unshare', 'rm', '-rf', root], { stdio: 'ignore' });
  spawnSync(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, work], { stdio: 'inherit' });
  rmSync(work, { recursive: true, force: true });
}
