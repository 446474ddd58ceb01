/**
 * Sandbox start-up: `devbox run --rm IMG true` against `podman run --rm IMG true` (runc) and bwrap on the same
 * busybox root file system, measured in one run, as the current (unprivileged) user; with the isolated
 * (slirp4netns) network and with the host's. What confinement costs: the same run without the seccomp filter
 * and the masked paths, and the helper alone (no Node.js, a single-id map) with and without them, compiling
 * the filter or loading it from the cache devbox run keeps.
 * The cases take turns; prints the median of each, the devbox/podman ratio and the machine's load.
 * $DEVBOX_BENCH_BASELINE, the bin/devbox of another build, adds its runs as contenders (its own store): a
 * change measured against what it changes, in the same rounds.
 * Usage: node dist/bench/startup.js [RUNS]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { busyboxRootfs, packTar } from '../test/helpers/images.js';
import { DEVBOX_BIN } from '../test/helpers/cli.js';
import { capabilityArgs, pathSecurityArgs, processSecurityArgs, resolveSecurity } from '../src/runtime/security.js';
import { helperPath } from '../src/runtime/helper.js';
import { median, sh } from './measure.js';

const runs = Number(process.argv[2] ?? 30);

interface Case {
  name: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * The median of each case, the cases taking turns (a different one first every round): on a machine whose
 * load changes during the run, every case sees the same load, so the ratios hold even when the times do not.
 */
function timeInTurns(cases: readonly Case[]): number[] {
  for (const c of cases) for (let i = 0; i < 3; i++) sh(c.cmd, c.args, c.env); // warm caches
  const samples = cases.map((): number[] => []);
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < cases.length; k++) {
      const i = (round + k) % cases.length;
      const t0 = performance.now();
      sh(cases[i].cmd, cases[i].args, cases[i].env);
      samples[i].push(performance.now() - t0);
    }
  }
  return samples.map(median);
}

const work = mkdtempSync(join(tmpdir(), 'devbox-bench-'));
const env = { ...process.env, XDG_DATA_HOME: join(work, 'data'), XDG_CONFIG_HOME: join(work, 'config') };
try {
  const tarPath = join(work, 'rootfs.tar');
  writeFileSync(tarPath, await packTar(busyboxRootfs()));
  const rootfs = join(work, 'rootfs');
  sh('mkdir', [rootfs]);
  sh('tar', ['-xf', tarPath, '-C', rootfs]);

  sh(process.execPath, [DEVBOX_BIN, 'image', 'import', tarPath, 'bench-busybox'], env);
  const baseline = process.env.DEVBOX_BENCH_BASELINE;
  const baselineEnv = { ...process.env, XDG_DATA_HOME: join(work, 'baseline-data'), XDG_CONFIG_HOME: join(work, 'baseline-config') };
  if (baseline) sh(process.execPath, [baseline, 'image', 'import', tarPath, 'bench-busybox'], baselineEnv);
  const podmanEnv = { ...process.env, XDG_DATA_HOME: join(work, 'podman-data') };
  sh('podman', ['import', tarPath, 'localhost/bench-busybox'], podmanEnv);
  const devboxRun = (name: string, options: string[]): Case => ({
    name: `devbox run --rm (${name})`,
    cmd: process.execPath,
    args: [DEVBOX_BIN, 'run', '--rm', ...options, 'bench-busybox', 'true'],
    env,
  });
  const baselineRun = (name: string, options: string[]): Case[] =>
    baseline
      ? [
          {
            name: `baseline devbox run --rm (${name})`,
            cmd: process.execPath,
            args: [baseline, 'run', '--rm', ...options, 'bench-busybox', 'true'],
            env: baselineEnv,
          },
        ]
      : [];
  const podmanRun = (network: string): Case => ({
    name: `podman run --rm (runc, ${network})`,
    cmd: 'podman',
    args: ['--runtime', 'runc', 'run', '--rm', '--network', network, 'localhost/bench-busybox', 'true'],
    env: podmanEnv,
  });
  const unconfined = ['--security-opt', 'seccomp=unconfined', '--security-opt', 'systempaths=unconfined'];
  // The helper alone, on a directory root with a map it writes itself: the filter's compile and load, the masks;
  // with the cache devbox run passes, the filter compiled once and loaded on every later run.
  const security = resolveSecurity();
  const helperBase = ['--uid-map', `0:${process.getuid!()}:1`, '--gid-map', `0:${process.getgid!()}:1`, '--rootfs', rootfs];
  const helper = (name: string, args: string[]): Case => ({
    name: `devbox-helper (${name})`,
    cmd: helperPath(),
    args: [...helperBase, ...args, '--', '/bin/true'],
  });
  const cases: Case[] = [
    devboxRun('native, slirp4netns', ['--storage', 'native', '--network', 'slirp4netns']),
    devboxRun('fuse, slirp4netns', ['--storage', 'fuse', '--network', 'slirp4netns']),
    devboxRun('native, host', ['--storage', 'native', '--network', 'host']),
    devboxRun('native, host, unconfined', ['--storage', 'native', '--network', 'host', ...unconfined]),
    ...baselineRun('native, slirp4netns', ['--storage', 'native', '--network', 'slirp4netns']),
    ...baselineRun('native, host', ['--storage', 'native', '--network', 'host']),
    helper('default confinement', [...pathSecurityArgs(security), ...processSecurityArgs(security)]),
    helper('default confinement, cached filter', [...pathSecurityArgs(security), ...processSecurityArgs(security, join(work, 'seccomp'))]),
    helper('capabilities only', capabilityArgs(security)),
    podmanRun('host'),
    podmanRun('slirp4netns'),
    {
      name: 'bwrap',
      cmd: 'bwrap',
      args: ['--unshare-all', '--share-net', '--bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '/bin/true'],
    },
    { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
  ];
  const medians = timeInTurns(cases);
  const results = cases.map((c, i) => ({ name: c.name, median: medians[i] }));
  const podman = medians[cases.findIndex((c) => c.name === 'podman run --rm (runc, host)')];
  console.log(
    `start-up of a busybox sandbox running true, median of ${runs} runs taking turns; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const r of results) console.log(`${r.name.padEnd(52)} ${r.median.toFixed(1).padStart(7)} ms   ${(r.median / podman).toFixed(2)}x podman`);
  spawnSync('podman', ['rmi', '-f', 'localhost/bench-busybox'], { stdio: 'ignore', env: podmanEnv });
  spawnSync('podman', ['unshare', 'rm', '-rf', join(work, 'podman-data')], { stdio: 'ignore', env: podmanEnv });
} finally {
  spawnSync(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, work], { stdio: 'inherit' });
  rmSync(work, { recursive: true, force: true });
}
