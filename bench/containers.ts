/**
 * The container verbs against podman's (runc) in one run, as the current unprivileged user: `run -d` of a
 * sleeping busybox on the host network and on the default one (slirp4netns), then on the host network
 * `exec CONTAINER true`, `ps -a`, `inspect` and `logs` of a running container.
 * devbox and podman take turns on each verb (who goes first alternates each round), so a load that changes
 * during the run is shared by both. Prints the median of each, devbox/podman ratios, the machine's load before
 * and after, and the supervisor's resident memory per idle container. $DEVBOX_BENCH_BASELINE, the bin/devbox of
 * another build, adds it as a third contender in the same rounds (its own store, set up alike).
 * Usage: node dist/bench/containers.js [RUNS]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEVBOX_BIN } from '../test/helpers/cli.js';
import { busyboxRootfs, packTar } from '../test/helpers/images.js';
import { median, sh } from './measure.js';
import { ownerStatePath, readLiveState } from '../src/network/owner.js';

const runs = Number(process.argv[2] ?? 9);

interface Side {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Untimed, after each timed run: removing what `run -d` made. */
  after?: (out: string) => void;
}

/** Medians of each contender's runs of one verb, taking turns (who goes first rotates), after one untimed warm-up each. */
function inTurns(sides: Side[]): number[] {
  const samples: number[][] = sides.map(() => []);
  for (let round = -1; round < runs; round++) {
    for (let k = 0; k < sides.length; k++) {
      const i = (round + 1 + k) % sides.length;
      const t0 = performance.now();
      const out = sh(sides[i].cmd, sides[i].args, sides[i].env);
      if (round >= 0) samples[i].push(performance.now() - t0);
      sides[i].after?.(out);
    }
  }
  return samples.map(median);
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const work = mkdtempSync(join(tmpdir(), 'devbox-bench-'));
const env = { ...process.env, XDG_DATA_HOME: join(work, 'data'), XDG_CONFIG_HOME: join(work, 'config') };
const podmanEnv = { ...process.env, XDG_DATA_HOME: join(work, 'podman-data') };
/** A build of devbox and its own store: this one, and the baseline's if there is one. */
interface Build {
  bin: string;
  env: NodeJS.ProcessEnv;
}
const builds: Build[] = [
  { bin: DEVBOX_BIN, env },
  ...(process.env.DEVBOX_BENCH_BASELINE
    ? [
        {
          bin: process.env.DEVBOX_BENCH_BASELINE,
          env: { ...process.env, XDG_DATA_HOME: join(work, 'baseline-data'), XDG_CONFIG_HOME: join(work, 'baseline-config') },
        },
      ]
    : []),
];
const podman = (...args: string[]) => ['--runtime', 'runc', ...args];
try {
  const tarPath = join(work, 'rootfs.tar');
  writeFileSync(tarPath, await packTar(busyboxRootfs()));
  for (const build of builds) sh(process.execPath, [build.bin, 'image', 'import', tarPath, 'bench-busybox'], build.env);
  sh('podman', ['import', tarPath, 'localhost/bench-busybox'], podmanEnv);
  const rows: [string, ...number[]][] = [];
  const removeDevbox = (build: Build) => (id: string) => sh(process.execPath, [build.bin, 'rm', '-f', id.trim()], build.env);
  const removePodman = (id: string) => sh('podman', podman('rm', '-f', '-t', '0', id.trim()), podmanEnv);
  /** devbox's side, podman's and the baseline's of one verb. */
  const contenders = (args: string[], podmanArgs: string[], after?: boolean): Side[] => {
    const [current, ...baseline] = builds.map((b) => ({
      cmd: process.execPath,
      args: [b.bin, ...args],
      env: b.env,
      after: after ? removeDevbox(b) : undefined,
    }));
    return [current, { cmd: 'podman', args: podman(...podmanArgs), env: podmanEnv, after: after ? removePodman : undefined }, ...baseline];
  };
  const loadBefore = load();
  // Both networks: the default (slirp4netns, for podman 4.3 too) is what `run -d` gives a user.
  for (const [name, network] of [
    ['run -d (host network)', ['--network', 'host']],
    ['run -d (slirp4netns)', []],
  ] as [string, string[]][]) {
    const runArgs = ['run', '-d', ...network];
    rows.push([name, ...inTurns(contenders([...runArgs, 'bench-busybox', 'sleep', '1000'], [...runArgs, 'localhost/bench-busybox', 'sleep', '1000'], true))]);
  }
  const idle = ['run', '-d', '--name', 'idle', '--network', 'host'];
  const [mine] = builds.map((b) => sh(process.execPath, [b.bin, ...idle, 'bench-busybox', 'sh', '-c', 'echo hello; sleep 1000'], b.env).trim());
  sh('podman', podman(...idle, 'localhost/bench-busybox', 'sh', '-c', 'echo hello; sleep 1000'), podmanEnv);
  for (const [name, args] of [
    ['exec CONTAINER true', ['exec', 'idle', 'true']],
    ['ps -a', ['ps', '-a']],
    ['inspect CONTAINER', ['inspect', 'idle']],
    ['logs CONTAINER', ['logs', 'idle']],
  ] as [string, string[]][]) {
    rows.push([name, ...inTurns(contenders(args, args))]);
  }
  const state = JSON.parse(readFileSync(join(env.XDG_DATA_HOME, 'devbox', 'containers', mine, 'state.json'), 'utf8'));
  const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  const rss = rssOf(state.supervisorPid);
  // The store's user namespace owner (the keeper and the helper process that waits for it), there for every container.
  const owner = readLiveState<{ pid: number; start: string }>(ownerStatePath(join(env.XDG_DATA_HOME, 'devbox')))!.pid;
  const ownerParent = Number(readFileSync(`/proc/${owner}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  console.log(`container verbs, median of ${runs} runs taking turns (load before: ${loadBefore}, after: ${load()})`);
  const ms = (value: number) => `${value.toFixed(1).padStart(7)} ms`;
  for (const [name, d, p, b] of rows) {
    const base = b === undefined ? '' : `   baseline ${ms(b)}   ${(b / p).toFixed(2)}x`;
    console.log(`${name.padEnd(24)} devbox ${ms(d)}   podman ${ms(p)}   ${(d / p).toFixed(2)}x${base}`);
  }
  console.log(`an idle container's supervisor: ${rss} kB resident`);
  console.log(
    `the store's user namespace owner: ${rssOf(owner) + rssOf(ownerParent)} kB resident (the keeper ${rssOf(owner)} kB, its helper ${rssOf(ownerParent)} kB)`,
  );
  removePodman('idle');
} finally {
  // A run cut short leaves its containers running: their supervisors would outlive the store removed below.
  for (const build of builds) {
    const left = spawnSync(process.execPath, [build.bin, 'ps', '-a', '-q', '--no-trunc'], { env: build.env, encoding: 'utf8' }).stdout ?? '';
    for (const id of left.split('\n').filter(Boolean)) spawnSync(process.execPath, [build.bin, 'rm', '-f', id], { stdio: 'ignore', env: build.env });
  }
  spawnSync('podman', ['rm', '-a', '-f', '-t', '0'], { stdio: 'ignore', env: podmanEnv });
  spawnSync('podman', ['unshare', 'rm', '-rf', join(work, 'podman-data')], { stdio: 'ignore', env: podmanEnv });
  spawnSync(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, work], { stdio: 'inherit' });
  rmSync(work, { recursive: true, force: true });
}
