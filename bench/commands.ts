/**
 * The everyday commands against podman's: ps, images, image inspect, inspect and logs of a container, start,
 * stop, rm, version, volume ls, network ls, info, then `devbox --help` on its own (target: under 150 ms) beside
 * `node -e 0` (Node.js's own start, which every devbox command pays). Each pair runs in turn, a different one
 * first every round, as the current unprivileged user; prints medians, the devbox/podman ratio (target ≤ 0.5×)
 * and the machine's load. The container verbs of a running container (run -d, exec) are in containers.ts.
 * Usage: node dist/bench/commands.js [RUNS]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEVBOX_BIN } from '../test/helpers/cli.js';
import { busyboxRootfs, packTar } from '../test/helpers/images.js';
import { median, sh } from './measure.js';

const runs = Number(process.argv[2] ?? 15);

/** One timed command, with untimed work before it (creating what it acts on). */
interface Step {
  before?: () => void;
  cmd: () => [string, string[]];
}

interface Pair {
  name: string;
  devbox: Step;
  podman: Step;
}

const work = mkdtempSync(join(tmpdir(), 'devbox-bench-commands-'));
const env = { ...process.env, XDG_DATA_HOME: join(work, 'data'), XDG_CONFIG_HOME: join(work, 'config') };
const podmanEnv = { ...process.env, XDG_DATA_HOME: join(work, 'podman-data'), XDG_CONFIG_HOME: join(work, 'podman-config') };
const repo = join(work, 'repo');

const devbox = (...args: string[]) => sh(process.execPath, [DEVBOX_BIN, ...args], env, repo);
const podman = (...args: string[]) => sh('podman', ['--runtime', 'runc', ...args], podmanEnv);
const devboxCmd =
  (...args: string[]) =>
  (): [string, string[]] => [process.execPath, [DEVBOX_BIN, ...args]];
const podmanCmd =
  (...args: string[]) =>
  (): [string, string[]] => ['podman', ['--runtime', 'runc', ...args]];

/** The containers devbox keeps after they exit (ids as `ps -a -q` prints them). */
const devboxContainers = () => new Set(devbox('ps', '-a', '-q').split('\n').filter(Boolean));
let removeTarget = '';

function time(step: Step, stepEnv: NodeJS.ProcessEnv): number {
  step.before?.();
  const [file, args] = step.cmd();
  const t0 = performance.now();
  sh(file, args, stepEnv, repo);
  return performance.now() - t0;
}

/** Two warm-up rounds, then RUNS rounds; the order of the two alternates. */
function measure(pair: Pair): [number, number] {
  const samples: [number[], number[]] = [[], []];
  for (let i = -2; i < runs; i++) {
    const order = i % 2 ? [0, 1] : [1, 0];
    for (const k of order) {
      const ms = k === 0 ? time(pair.devbox, env) : time(pair.podman, podmanEnv);
      if (i >= 0) samples[k].push(ms);
    }
  }
  return [median(samples[0]), median(samples[1])];
}

const quitOnTerm = ['sh', '-c', 'trap "exit 0" TERM; sleep 1000 & wait'];

try {
  const tarPath = join(work, 'rootfs.tar');
  writeFileSync(tarPath, await packTar(busyboxRootfs()));
  mkdirSync(repo);
  writeFileSync(join(repo, 'devbox.json'), JSON.stringify({ image: 'bench-busybox', network: 'host' }));
  devbox('image', 'import', tarPath, 'bench-busybox');
  podman('import', tarPath, 'localhost/bench-busybox');
  // Something for ps to list on both sides: a running container and an exited one (devbox: a live project
  // sandbox too).
  devbox('run', 'true');
  devbox('container', 'run', '-d', '--name', 'bench-live', '--network', 'host', 'bench-busybox', ...quitOnTerm);
  devbox('container', 'run', '--name', 'bench-exited', '--network', 'host', 'bench-busybox', 'true');
  podman('run', '-d', '--name', 'bench-live', '--network', 'host', 'localhost/bench-busybox', ...quitOnTerm);
  podman('run', '--name', 'bench-exited', '--network', 'host', 'localhost/bench-busybox', 'true');

  const pairs: Pair[] = [
    { name: 'ps -a', devbox: { cmd: devboxCmd('ps', '-a') }, podman: { cmd: podmanCmd('ps', '-a') } },
    { name: 'images', devbox: { cmd: devboxCmd('images') }, podman: { cmd: podmanCmd('images') } },
    { name: 'inspect CONTAINER', devbox: { cmd: devboxCmd('inspect', 'bench-live') }, podman: { cmd: podmanCmd('inspect', 'bench-live') } },
    { name: 'logs CONTAINER', devbox: { cmd: devboxCmd('logs', 'bench-live') }, podman: { cmd: podmanCmd('logs', 'bench-live') } },
    {
      name: 'image inspect IMAGE',
      devbox: { cmd: devboxCmd('image', 'inspect', 'bench-busybox') },
      podman: { cmd: podmanCmd('image', 'inspect', 'localhost/bench-busybox') },
    },
    {
      name: 'stop (a running container)',
      devbox: {
        before: () => {
          spawnSync(process.execPath, [DEVBOX_BIN, 'rm', '-f', 'bench-stop'], { env, stdio: 'ignore' });
          devbox('container', 'run', '-d', '--name', 'bench-stop', '--network', 'host', 'bench-busybox', ...quitOnTerm);
        },
        cmd: devboxCmd('stop', 'bench-stop'),
      },
      podman: {
        before: () => podman('run', '-d', '--replace', '--name', 'bench-stop', '--network', 'host', 'localhost/bench-busybox', ...quitOnTerm),
        cmd: podmanCmd('stop', 'bench-stop'),
      },
    },
    {
      name: 'rm (an exited container)',
      devbox: {
        before: () => {
          const existing = devboxContainers();
          devbox('container', 'run', '--network', 'host', 'bench-busybox', 'true');
          removeTarget = [...devboxContainers()].find((id) => !existing.has(id))!;
        },
        cmd: () => devboxCmd('rm', removeTarget)(),
      },
      podman: {
        before: () => podman('run', '--name', 'bench-rm', '--network', 'host', 'localhost/bench-busybox', 'true'),
        cmd: podmanCmd('rm', 'bench-rm'),
      },
    },
    {
      name: 'start (an exited container)',
      devbox: { cmd: devboxCmd('start', 'bench-exited') },
      podman: { cmd: podmanCmd('start', 'bench-exited') },
    },
    { name: 'version', devbox: { cmd: devboxCmd('version') }, podman: { cmd: podmanCmd('version') } },
    { name: '--version', devbox: { cmd: devboxCmd('--version') }, podman: { cmd: podmanCmd('--version') } },
    { name: 'volume ls', devbox: { cmd: devboxCmd('volume', 'ls') }, podman: { cmd: podmanCmd('volume', 'ls') } },
    { name: 'network ls', devbox: { cmd: devboxCmd('network', 'ls') }, podman: { cmd: podmanCmd('network', 'ls') } },
    { name: 'info', devbox: { cmd: devboxCmd('info') }, podman: { cmd: podmanCmd('info') } },
  ];

  console.log(`everyday commands, devbox against podman (runc), median of ${runs} runs each, taking turns; load ${loadavg()[0].toFixed(1)}`);
  for (const pair of pairs) {
    const [d, p] = measure(pair);
    console.log(`${pair.name.padEnd(28)} devbox ${d.toFixed(1).padStart(7)} ms   podman ${p.toFixed(1).padStart(7)} ms   ${(d / p).toFixed(2)}x podman`);
  }
  const help: number[] = [];
  const node: number[] = [];
  for (let i = -2; i < runs; i++) {
    const h = time({ cmd: devboxCmd('--help') }, env);
    const n = time({ cmd: () => [process.execPath, ['-e', '0']] }, env);
    if (i >= 0) {
      help.push(h);
      node.push(n);
    }
  }
  console.log(`${'devbox --help'.padEnd(28)} ${median(help).toFixed(1).padStart(7)} ms (target: under 150 ms; node -e 0: ${median(node).toFixed(1)} ms)`);
  console.log(`load average at the end: ${loadavg()[0].toFixed(1)}`);
} finally {
  spawnSync(process.execPath, [DEVBOX_BIN, 'stop'], { cwd: repo, env, stdio: 'ignore' });
  spawnSync(process.execPath, [DEVBOX_BIN, 'rm', '-f', 'bench-live', 'bench-stop'], { cwd: repo, env, stdio: 'ignore' });
  for (const name of ['bench-live', 'bench-exited', 'bench-stop', 'bench-rm'])
    spawnSync('podman', ['rm', '-f', '-t', '0', name], { stdio: 'ignore', env: podmanEnv });
  spawnSync('podman', ['rmi', '-f', 'localhost/bench-busybox'], { stdio: 'ignore', env: podmanEnv });
  spawnSync('podman', ['unshare', 'rm', '-rf', join(work, 'podman-data')], { stdio: 'ignore', env: podmanEnv });
  spawnSync(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, work], { stdio: 'inherit' });
  rmSync(work, { recursive: true, force: true });
}
