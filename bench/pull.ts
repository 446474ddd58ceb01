/**
 * Pull of a Debian minbase image (~170 MB unpacked, one gzip layer) from a local registry (docker-registry on
 * 127.0.0.1): `devbox pull` against `podman pull` and `skopeo copy` to a directory, fresh stores every run,
 * measured in one run as the current (unprivileged) user, in rounds (see timeRounds). Prints medians and ratios.
 * Every store is kept until the end: ~0.5 GB of disk per round.
 * Usage: node dist/bench/pull.js [RUNS]. The root file system comes from $DEVBOX_BENCH_ROOTFS (a tar), else
 * from a cached `mmdebstrap --variant=minbase bookworm` (made once, ~1 min, needs Debian's package mirror).
 * $DEVBOX_BENCH_BASELINE, the bin/devbox of another build, adds it as a contender: a change measured against
 * what it changes, in the same rounds.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEVBOX_BIN } from '../test/helpers/cli.js';
import { startRegistry } from '../test/helpers/registry.js';
import { cachedMinbase, median, seedMinbase, sh } from './measure.js';

const runs = Number(process.argv[2] ?? 5);

/** Removes a tree whose files belong to subordinate ids (unpacked layers), as root of the user namespace. */
function removeTree(path: string): void {
  sh(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, path]);
}

interface Contender {
  name: string;
  /** The command for run i, each into a store of its own. */
  run: (i: number) => [string, string[], NodeJS.ProcessEnv];
}

/**
 * Rounds: each runs every contender once, starting with a different one each round, so that drift in the
 * machine's load falls on all of them alike. Round 0 is a warm-up; only the command is timed. Stores are
 * removed at the end, not after each run: a journal-less ext4 scans recently freed inodes on every create
 * (for minutes after they were freed), so removing one run's ~8,700 files would slow the next run's creates
 * several times over, measuring the file system rather than the tools.
 */
function timeRounds(contenders: Contender[]): number[][] {
  const samples: number[][] = contenders.map(() => []);
  for (let i = 0; i <= runs; i++) {
    for (let j = 0; j < contenders.length; j++) {
      const k = (i + j) % contenders.length;
      const c = contenders[k];
      const [cmd, args, env] = c.run(i);
      const t0 = performance.now();
      sh(cmd, args, env);
      if (i > 0) samples[k].push(performance.now() - t0);
    }
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
  await seedMinbase(work, registry, cachedMinbase('minbase-bookworm', [], 'DEVBOX_BENCH_ROOTFS'), 'bench/minbase:1');

  const podmanRoot = (i: number) => ['--root', join(work, `podman-${i}`, 'root'), '--runroot', join(work, `podman-${i}`, 'run')];
  const skopeoEnv = { ...process.env, REGISTRY_AUTH_FILE: join(work, 'skopeo-auth.json') }; // written by seedImage
  const contenders: Contender[] = [
    {
      name: 'devbox pull',
      run: (i) => [process.execPath, [DEVBOX_BIN, 'pull', '-q', ref], env(`devbox-${i}`)],
    },
    ...(process.env.DEVBOX_BENCH_BASELINE
      ? [
          {
            name: 'devbox pull (baseline)',
            run: (i: number): [string, string[], NodeJS.ProcessEnv] => [
              process.execPath,
              [process.env.DEVBOX_BENCH_BASELINE!, 'pull', '-q', ref],
              env(`baseline-${i}`),
            ],
          },
        ]
      : []),
    {
      name: 'podman pull',
      run: (i) => ['podman', [...podmanRoot(i), 'pull', '-q', '--tls-verify=false', ref], process.env],
    },
    {
      name: 'skopeo copy to dir: (no unpack)',
      run: (i) => ['skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `dir:${join(work, `skopeo-${i}`)}`], skopeoEnv],
    },
  ];
  const results = timeRounds(contenders).map((samples, k) => ({ name: contenders[k].name, median: median(samples) }));
  const podmanMedian = results.find((r) => r.name === 'podman pull')!.median;
  console.log(`pull of Debian minbase (one gzip layer, ~170 MB unpacked) from a local registry, median of ${runs} rounds (each tool once per round, in turn)`);
  for (const r of results) console.log(`${r.name.padEnd(32)} ${(r.median / 1000).toFixed(2).padStart(7)} s   ${(r.median / podmanMedian).toFixed(2)}x podman`);
} finally {
  await registry.stop();
  removeTree(work);
  rmSync(work, { recursive: true, force: true });
}
