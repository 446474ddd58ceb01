/**
 * Pull of a Debian minbase image (~170 MB unpacked, one gzip layer) from a local registry (docker-registry on
 * 127.0.0.1): `devbox pull` against `podman pull` and `skopeo copy` to a directory, fresh stores every run,
 * measured in one run as the current (unprivileged) user. Prints medians and ratios.
 * Usage: node dist/bench/pull.js [RUNS]. The root file system comes from $DEVBOX_BENCH_ROOTFS (a tar), else
 * from a cached `mmdebstrap --variant=minbase bookworm` (made once, ~1 min, needs Debian's package mirror).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEVBOX_BIN } from '../test/helpers/cli.js';
import { seedImage, startRegistry } from '../test/helpers/registry.js';
import { median, sh } from './measure.js';

const runs = Number(process.argv[2] ?? 5);

/** Removes a tree whose files belong to subordinate ids (unpacked layers), as root of the user namespace. */
function removeTree(path: string): void {
  sh(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, path]);
}

function rootfsTar(): string {
  if (process.env.DEVBOX_BENCH_ROOTFS) return process.env.DEVBOX_BENCH_ROOTFS;
  const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'devbox-bench');
  const tar = join(cache, 'minbase-bookworm.tar');
  if (!existsSync(tar)) {
    mkdirSync(cache, { recursive: true });
    console.log('making the Debian minbase root file system (once)…');
    sh('mmdebstrap', ['--quiet', '--variant=minbase', 'bookworm', `${tar}.part`]);
    sh('mv', [`${tar}.part`, tar]);
  }
  return tar;
}

/** Times `setup(); cmd; cleanup()` `runs` times (after one warm-up), timing only cmd. */
function time(cmd: string, args: (i: number) => string[], env: NodeJS.ProcessEnv, cleanup: (i: number) => void): number[] {
  const samples: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    sh(cmd, args(i), env);
    if (i > 0) samples.push(performance.now() - t0);
    cleanup(i);
  }
  return samples;
}

const work = mkdtempSync(join(tmpdir(), 'devbox-bench-pull-'));
process.env.DEVBOX_TEST_TMP = work; // where the test helpers keep skopeo's credentials file
mkdirSync(join(work, 'registry'));
const registry = await startRegistry(join(work, 'registry'));
try {
  const env = (dir: string) => ({ ...process.env, XDG_DATA_HOME: join(work, dir, 'data'), XDG_CONFIG_HOME: join(work, dir, 'config') });
  const ref = `${registry.host}/bench/minbase:1`;
  // Seed as a registry image usually is: skopeo pushes the layer gzip-compressed.
  sh(process.execPath, [DEVBOX_BIN, 'image', 'import', rootfsTar(), 'bench-minbase'], env('seed'));
  const archive = join(work, 'minbase-archive.tar');
  sh(process.execPath, [DEVBOX_BIN, 'image', 'save', '-o', archive, 'bench-minbase'], env('seed'));
  await seedImage(archive, ref);
  removeTree(join(work, 'seed'));
  rmSync(archive);

  const results: { name: string; median: number }[] = [];
  const devbox = time(process.execPath, () => [DEVBOX_BIN, 'pull', '-q', ref], env('devbox'), () => removeTree(join(work, 'devbox')));
  results.push({ name: 'devbox pull', median: median(devbox) });
  const podmanRoot = (i: number) => ['--root', join(work, `podman-${i}`, 'root'), '--runroot', join(work, `podman-${i}`, 'run')];
  const podman = time('podman', (i) => [...podmanRoot(i), 'pull', '-q', '--tls-verify=false', ref], process.env, (i) => removeTree(join(work, `podman-${i}`)));
  results.push({ name: 'podman pull', median: median(podman) });
  const skopeoEnv = { ...process.env, REGISTRY_AUTH_FILE: join(work, 'skopeo-auth.json') }; // written by seedImage
  const skopeo = time('skopeo', (i) => ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `dir:${join(work, `skopeo-${i}`)}`], skopeoEnv, (i) => rmSync(join(work, `skopeo-${i}`), { recursive: true, force: true }));
  results.push({ name: 'skopeo copy to dir: (no unpack)', median: median(skopeo) });

  const podmanMedian = results[1].median;
  console.log(`pull of Debian minbase (one gzip layer, ~170 MB unpacked) from a local registry, median of ${runs} runs`);
  for (const r of results) console.log(`${r.name.padEnd(32)} ${(r.median / 1000).toFixed(2).padStart(7)} s   ${(r.median / podmanMedian).toFixed(2)}x podman`);
} finally {
  await registry.stop();
  removeTree(work);
  rmSync(work, { recursive: true, force: true });
}
