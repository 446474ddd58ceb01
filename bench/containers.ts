/**
 * The container verbs against podman's (runc, host network) in one run, as the current unprivileged user:
 * `run -d` of a sleeping busybox, `exec CONTAINER true`, `ps -a`, `inspect` and `logs` of a running container.
 * devbox and podman take turns on each verb (who goes first alternates each round), so a load that changes
 * during the run is shared by both. Prints the median of each, devbox/podman ratios, the machine's load before
 * and after, and the supervisor's resident memory per idle container.
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

const runs = Number(process.argv[2] ?? 9);

interface Side {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Untimed, after each timed run: removing what `run -d` made. */
  after?: (out: string) => void;
}

/** Medians of devbox's and podman's runs of one verb, taking turns, after one untimed warm-up each. */
function pairInTurns(devboxSide: Side, podmanSide: Side): [number, number] {
  const sides = [devboxSide, podmanSide];
  const samples: number[][] = [[], []];
  for (let round = -1; round < runs; round++) {
    for (let k = 0; k < 2; k++) {
      const i = (round + 2 + k) % 2;
      const t0 = performance.now();
      const out = sh(sides[i].cmd, sides[i].args, sides[i].env);
      if (round >= 0) samples[i].push(performance.now() - t0);
      sides[i].after?.(out);
    }
  }
  return [median(samples[0]), median(samples[1])];
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const work = mkdtempSync(join(tmpdir(), 'devbox-bench-'));
const env = { ...process.env, XDG_DATA_HOME: join(work, 'data'), XDG_CONFIG_HOME: join(work, 'config') };
const podmanEnv = { ...process.env, XDG_DATA_HOME: join(work, 'podman-data') };
const devbox = (...args: string[]) => [DEVBOX_BIN, ...args];
const podman = (...args: string[]) => ['--runtime', 'runc', ...args];
try {
  const tarPath = join(work, 'rootfs.tar');
  writeFileSync(tarPath, await packTar(busyboxRootfs()));
  sh(process.execPath, devbox('image', 'import', tarPath, 'bench-busybox'), env);
  sh('podman', ['import', tarPath, 'localhost/bench-busybox'], podmanEnv);
  const rows: [string, number, number][] = [];
  const removeDevbox = (id: string) => sh(process.execPath, devbox('rm', '-f', id.trim()), env);
  const removePodman = (id: string) => sh('podman', podman('rm', '-f', '-t', '0', id.trim()), podmanEnv);
  const loadBefore = load();
  rows.push([
    'run -d (host network)',
    ...pairInTurns(
      { cmd: process.execPath, args: devbox('run', '-d', '--network', 'host', 'bench-busybox', 'sleep', '1000'), env, after: removeDevbox },
      { cmd: 'podman', args: podman('run', '-d', '--network', 'host', 'localhost/bench-busybox', 'sleep', '1000'), env: podmanEnv, after: removePodman },
    ),
  ]);
  const mine = sh(
    process.execPath,
    devbox('run', '-d', '--name', 'idle', '--network', 'host', 'bench-busybox', 'sh', '-c', 'echo hello; sleep 1000'),
    env,
  ).trim();
  sh('podman', podman('run', '-d', '--name', 'idle', '--network', 'host', 'localhost/bench-busybox', 'sh', '-c', 'echo hello; sleep 1000'), podmanEnv);
  for (const [name, args] of [
    ['exec CONTAINER true', ['exec', 'idle', 'true']],
    ['ps -a', ['ps', '-a']],
    ['inspect CONTAINER', ['inspect', 'idle']],
    ['logs CONTAINER', ['logs', 'idle']],
  ] as [string, string[]][]) {
    rows.push([name, ...pairInTurns({ cmd: process.execPath, args: devbox(...args), env }, { cmd: 'podman', args: podman(...args), env: podmanEnv })]);
  }
  const state = JSON.parse(readFileSync(join(env.XDG_DATA_HOME, 'devbox', 'containers', mine, 'state.json'), 'utf8'));
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${state.supervisorPid}/status`, 'utf8'))?.[1];
  console.log(`container verbs, median of ${runs} runs taking turns (load before: ${loadBefore}, after: ${load()})`);
  for (const [name, d, p] of rows)
    console.log(`${name.padEnd(24)} devbox ${d.toFixed(1).padStart(7)} ms   podman ${p.toFixed(1).padStart(7)} ms   ${(d / p).toFixed(2)}x`);
  console.log(`an idle container's supervisor: ${rss} kB resident`);
  removeDevbox(mine);
  removePodman('idle');
} finally {
  // A run cut short leaves its containers running: their supervisors would outlive the store removed below.
  const left = spawnSync(process.execPath, devbox('ps', '-a', '-q', '--no-trunc'), { env, encoding: 'utf8' }).stdout ?? '';
  for (const id of left.split('\n').filter(Boolean)) spawnSync(process.execPath, devbox('rm', '-f', id), { stdio: 'ignore', env });
  spawnSync('podman', ['rm', '-a', '-f', '-t', '0'], { stdio: 'ignore', env: podmanEnv });
  spawnSync('podman', ['unshare', 'rm', '-rf', join(work, 'podman-data')], { stdio: 'ignore', env: podmanEnv });
  spawnSync(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, work], { stdio: 'inherit' });
  rmSync(work, { recursive: true, force: true });
}
