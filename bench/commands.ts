/**
 * The everyday commands against podman's: ps, images, image inspect, inspect and logs of a container, start,
 * stop, rm, version, volume ls, network ls, info, then `devbox --help` on its own (target: under 150 ms) beside
 * `node -e 0` (Node.js's own start, which every devbox command pays). Each pair runs in turn, a different one
 * first every round, as the current unprivileged user; prints medians, the devbox/podman ratio (target ≤ 0.5×)
 * and the machine's load. The container verbs of a running container (run -d, exec) are in containers.ts.
 * $DEVBOX_BENCH_BASELINE, the bin/devbox of another build, adds it as a contender (its own store) on the rows
 * that act on containers (stop, rm, start) and on `ps -a` through the launcher with NODE_EXTRA_CA_CERTS set: a
 * change measured against what it changes, in the same rounds.
 * Usage: node dist/bench/commands.js [RUNS]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEVBOX_BIN } from '../test/helpers/cli.js';
import { busyboxRootfs, packTar } from '../test/helpers/images.js';
import { median, sh } from './measure.js';

const runs = Number(process.argv[2] ?? 15);

/** One timed command, with untimed work before it (creating what it acts on). */
interface Step {
  before?: () => void;
  cmd: () => [string, string[]];
  /** Added to the contender's environment. */
  env?: NodeJS.ProcessEnv;
}

interface Pair {
  name: string;
  /** The step for one build of devbox (this one, or the baseline's on the rows that take one). */
  devbox: (side: Side) => Step;
  podman: Step;
  withBaseline?: true;
}

/** A build of devbox and its own store. */
interface Side {
  bin: string;
  env: NodeJS.ProcessEnv;
  /** The container the rm row removes next. */
  removeTarget?: string;
}

const work = mkdtempSync(join(tmpdir(), 'devbox-bench-commands-'));
const env = { ...process.env, XDG_DATA_HOME: join(work, 'data'), XDG_CONFIG_HOME: join(work, 'config') };
const podmanEnv = { ...process.env, XDG_DATA_HOME: join(work, 'podman-data'), XDG_CONFIG_HOME: join(work, 'podman-config') };
const repo = join(work, 'repo');

const current: Side = { bin: DEVBOX_BIN, env };
const baseline: Side | undefined = process.env.DEVBOX_BENCH_BASELINE
  ? {
      bin: process.env.DEVBOX_BENCH_BASELINE,
      env: { ...process.env, XDG_DATA_HOME: join(work, 'baseline-data'), XDG_CONFIG_HOME: join(work, 'baseline-config') },
    }
  : undefined;
const sides = baseline ? [current, baseline] : [current];

const devboxIn = (side: Side, ...args: string[]) => sh(process.execPath, [side.bin, ...args], side.env, repo);
const podman = (...args: string[]) => sh('podman', ['--runtime', 'runc', ...args], podmanEnv);
/** The same command for whichever build: a row without a setup step of its own. */
const devboxCmd =
  (...args: string[]) =>
  (side: Side): Step => ({ cmd: () => [process.execPath, [side.bin, ...args]] });
const podmanCmd =
  (...args: string[]) =>
  (): [string, string[]] => ['podman', ['--runtime', 'runc', ...args]];

/** The containers devbox keeps after they exit (ids as `ps -a -q` prints them). */
const devboxContainers = (side: Side) => new Set(devboxIn(side, 'ps', '-a', '-q').split('\n').filter(Boolean));

function time(step: Step, stepEnv: NodeJS.ProcessEnv): number {
  step.before?.();
  const [file, args] = step.cmd();
  const t0 = performance.now();
  sh(file, args, { ...stepEnv, ...step.env }, repo);
  return performance.now() - t0;
}

/** Two warm-up rounds, then RUNS rounds; a different contender goes first every round. Medians: devbox, podman, baseline. */
function measure(pair: Pair): number[] {
  const contenders: [Step, NodeJS.ProcessEnv][] = [
    [pair.devbox(current), env],
    [pair.podman, podmanEnv],
    ...(baseline && pair.withBaseline ? [[pair.devbox(baseline), baseline.env] as [Step, NodeJS.ProcessEnv]] : []),
  ];
  const samples = contenders.map((): number[] => []);
  for (let i = -2; i < runs; i++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = (i + 2 + k) % contenders.length;
      const ms = time(...contenders[c]);
      if (i >= 0) samples[c].push(ms);
    }
  }
  return samples.map(median);
}

const quitOnTerm = ['sh', '-c', 'trap "exit 0" TERM; sleep 1000 & wait'];
/** A system CA bundle as NODE_EXTRA_CA_CERTS, as a user behind a TLS-intercepting proxy sets it; `devbox` on the PATH is the launcher. */
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const launcherOf = (bin: string) => join(dirname(bin), '..', 'native', 'devbox-launcher');

try {
  const tarPath = join(work, 'rootfs.tar');
  writeFileSync(tarPath, await packTar(busyboxRootfs()));
  mkdirSync(repo);
  writeFileSync(join(repo, 'devbox.json'), JSON.stringify({ image: 'bench-busybox', network: 'host' }));
  for (const side of sides) devboxIn(side, 'image', 'import', tarPath, 'bench-busybox');
  podman('import', tarPath, 'localhost/bench-busybox');
  // Something for ps to list on both sides: a running container and an exited one (devbox: a live project
  // sandbox too). The baseline's store gets the same, so that both builds act on stores alike.
  for (const side of sides) {
    devboxIn(side, 'run', 'true');
    devboxIn(side, 'container', 'run', '-d', '--name', 'bench-live', '--network', 'host', 'bench-busybox', ...quitOnTerm);
    devboxIn(side, 'container', 'run', '--name', 'bench-exited', '--network', 'host', 'bench-busybox', 'true');
  }
  podman('run', '-d', '--name', 'bench-live', '--network', 'host', 'localhost/bench-busybox', ...quitOnTerm);
  podman('run', '--name', 'bench-exited', '--network', 'host', 'localhost/bench-busybox', 'true');

  const pairs: Pair[] = [
    { name: 'ps -a', devbox: devboxCmd('ps', '-a'), podman: { cmd: podmanCmd('ps', '-a') } },
    {
      name: 'ps -a, NODE_EXTRA_CA_CERTS',
      withBaseline: true,
      devbox: (side) => ({ env: { NODE_EXTRA_CA_CERTS: CA_BUNDLE }, cmd: () => [launcherOf(side.bin), ['ps', '-a']] }),
      podman: { env: { NODE_EXTRA_CA_CERTS: CA_BUNDLE }, cmd: podmanCmd('ps', '-a') },
    },
    { name: 'images', devbox: devboxCmd('images'), podman: { cmd: podmanCmd('images') } },
    { name: 'inspect CONTAINER', devbox: devboxCmd('inspect', 'bench-live'), podman: { cmd: podmanCmd('inspect', 'bench-live') } },
    { name: 'logs CONTAINER', devbox: devboxCmd('logs', 'bench-live'), podman: { cmd: podmanCmd('logs', 'bench-live') } },
    {
      name: 'image inspect IMAGE',
      devbox: devboxCmd('image', 'inspect', 'bench-busybox'),
      podman: { cmd: podmanCmd('image', 'inspect', 'localhost/bench-busybox') },
    },
    {
      name: 'stop (a running container)',
      withBaseline: true,
      devbox: (side) => ({
        before: () => {
          spawnSync(process.execPath, [side.bin, 'rm', '-f', 'bench-stop'], { env: side.env, stdio: 'ignore' });
          devboxIn(side, 'container', 'run', '-d', '--name', 'bench-stop', '--network', 'host', 'bench-busybox', ...quitOnTerm);
        },
        cmd: () => [process.execPath, [side.bin, 'stop', 'bench-stop']],
      }),
      podman: {
        before: () => podman('run', '-d', '--replace', '--name', 'bench-stop', '--network', 'host', 'localhost/bench-busybox', ...quitOnTerm),
        cmd: podmanCmd('stop', 'bench-stop'),
      },
    },
    {
      name: 'rm (an exited container)',
      withBaseline: true,
      devbox: (side) => ({
        before: () => {
          const existing = devboxContainers(side);
          devboxIn(side, 'container', 'run', '--network', 'host', 'bench-busybox', 'true');
          side.removeTarget = [...devboxContainers(side)].find((id) => !existing.has(id))!;
        },
        cmd: () => [process.execPath, [side.bin, 'rm', side.removeTarget!]],
      }),
      podman: {
        before: () => podman('run', '--name', 'bench-rm', '--network', 'host', 'localhost/bench-busybox', 'true'),
        cmd: podmanCmd('rm', 'bench-rm'),
      },
    },
    {
      name: 'start (an exited container)',
      withBaseline: true,
      devbox: devboxCmd('start', 'bench-exited'),
      podman: { cmd: podmanCmd('start', 'bench-exited') },
    },
    { name: 'version', devbox: devboxCmd('version'), podman: { cmd: podmanCmd('version') } },
    { name: '--version', devbox: devboxCmd('--version'), podman: { cmd: podmanCmd('--version') } },
    { name: 'volume ls', devbox: devboxCmd('volume', 'ls'), podman: { cmd: podmanCmd('volume', 'ls') } },
    { name: 'network ls', devbox: devboxCmd('network', 'ls'), podman: { cmd: podmanCmd('network', 'ls') } },
    { name: 'info', devbox: devboxCmd('info'), podman: { cmd: podmanCmd('info') } },
  ];

  console.log(`everyday commands, devbox against podman (runc), median of ${runs} runs each, taking turns; load ${loadavg()[0].toFixed(1)}`);
  for (const pair of pairs) {
    const [d, p, b] = measure(pair);
    const base = b === undefined ? '' : `   baseline ${b.toFixed(1).padStart(7)} ms (${(b / p).toFixed(2)}x)`;
    console.log(`${pair.name.padEnd(28)} devbox ${d.toFixed(1).padStart(7)} ms   podman ${p.toFixed(1).padStart(7)} ms   ${(d / p).toFixed(2)}x podman${base}`);
  }
  const help: number[] = [];
  const node: number[] = [];
  for (let i = -2; i < runs; i++) {
    const h = time(devboxCmd('--help')(current), env);
    const n = time({ cmd: () => [process.execPath, ['-e', '0']] }, env);
    if (i >= 0) {
      help.push(h);
      node.push(n);
    }
  }
  console.log(`${'devbox --help'.padEnd(28)} ${median(help).toFixed(1).padStart(7)} ms (target: under 150 ms; node -e 0: ${median(node).toFixed(1)} ms)`);
  console.log(`load average at the end: ${loadavg()[0].toFixed(1)}`);
} finally {
  for (const side of sides) spawnSync(process.execPath, [side.bin, 'stop'], { cwd: repo, env: side.env, stdio: 'ignore' });
  for (const side of sides) spawnSync(process.execPath, [side.bin, 'rm', '-f', 'bench-live', 'bench-stop'], { cwd: repo, env: side.env, stdio: 'ignore' });
  for (const name of ['bench-live', 'bench-exited', 'bench-stop', 'bench-rm'])
    spawnSync('podman', ['rm', '-f', '-t', '0', name], { stdio: 'ignore', env: podmanEnv });
  spawnSync('podman', ['rmi', '-f', 'localhost/bench-busybox'], { stdio: 'ignore', env: podmanEnv });
  spawnSync('podman', ['unshare', 'rm', '-rf', join(work, 'podman-data')], { stdio: 'ignore', env: podmanEnv });
  spawnSync(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, work], { stdio: 'inherit' });
  rmSync(work, { recursive: true, force: true });
}
