/**
 * Entering a project's live sandbox: `devbox run true` and `devbox shell` up to its prompt (in a real
 * pseudo-terminal, through script(1)), and the no-op config check alone, against `podman exec` into a running
 * container and `podman run --rm -v repo:repo`; and starting the sandbox (the first entry after `devbox stop`)
 * with slirp4netns and with the host network, against `podman run -d`; measured in one run as the current
 * (unprivileged) user.
 * Usage: node dist/bench/project.js [RUNS]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadProject } from '../src/project/load.js';
import { projectInputsHash } from '../src/project/inputs-hash.js';
import { busyboxRootfs, packTar } from '../test/helpers/images.js';
import { DEVBOX_BIN, DEVBOX_LAUNCHER } from '../test/helpers/cli.js';
import { median, sh, shellToPrompt } from './measure.js';

const runs = Number(process.argv[2] ?? 30);

/** The median time of `fn`; `before` runs untimed ahead of each call. */
async function sample(fn: () => unknown, before: () => unknown = () => {}): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await before();
    await fn(); // warm caches
  }
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    await before();
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return median(samples);
}

const work = mkdtempSync(join(tmpdir(), 'devbox-bench-'));
const env = { ...process.env, XDG_DATA_HOME: join(work, 'data'), XDG_CONFIG_HOME: join(work, 'config'), XDG_CACHE_HOME: join(work, 'cache') };
const podmanEnv = { ...process.env, XDG_DATA_HOME: join(work, 'podman-data') };
const repo = join(work, 'repo');
const hostRepo = join(work, 'host-repo');
try {
  const tarPath = join(work, 'rootfs.tar');
  writeFileSync(tarPath, await packTar(busyboxRootfs()));
  sh(process.execPath, [DEVBOX_BIN, 'image', 'import', tarPath, 'bench-busybox'], env);
  mkdirSync(repo);
  writeFileSync(join(repo, 'devbox.json'), JSON.stringify({ image: 'bench-busybox' }));
  sh(process.execPath, [DEVBOX_BIN, 'run', 'true'], env, repo); // the sandbox is live from here on

  const run = await sample(() => sh(process.execPath, [DEVBOX_BIN, 'run', 'true'], env, repo));
  const shell = await sample(() => shellToPrompt(repo, env));
  // Through the launcher, as `devbox` on the PATH runs: the warm-up rounds record the join, the rest replay it.
  const runLauncher = await sample(() => sh(DEVBOX_LAUNCHER, ['run', 'true'], env, repo));
  const shellLauncher = await sample(() => shellToPrompt(repo, env, DEVBOX_LAUNCHER));
  const check = await sample(async () => {
    await projectInputsHash(loadProject(repo));
  });
  const stop = (cwd: string) => () => sh(process.execPath, [DEVBOX_BIN, 'stop'], env, cwd);
  const start = await sample(() => sh(process.execPath, [DEVBOX_BIN, 'run', 'true'], env, repo), stop(repo));
  mkdirSync(hostRepo);
  writeFileSync(join(hostRepo, 'devbox.json'), JSON.stringify({ image: 'bench-busybox', network: 'host' }));
  sh(process.execPath, [DEVBOX_BIN, 'run', 'true'], env, hostRepo);
  const startHost = await sample(() => sh(process.execPath, [DEVBOX_BIN, 'run', 'true'], env, hostRepo), stop(hostRepo));

  sh('podman', ['import', tarPath, 'localhost/bench-busybox'], podmanEnv);
  sh(
    'podman',
    ['--runtime', 'runc', 'run', '-d', '--name', 'bench-live', '--network', 'host', '-v', `${repo}:${repo}`, 'localhost/bench-busybox', 'sleep', '1d'],
    podmanEnv,
  );
  const exec = await sample(() => sh('podman', ['exec', 'bench-live', 'true'], podmanEnv));
  const podmanRun = await sample(() =>
    sh('podman', ['--runtime', 'runc', 'run', '--rm', '--network', 'host', '-v', `${repo}:${repo}`, 'localhost/bench-busybox', 'true'], podmanEnv),
  );
  const removeDetached = () => sh('podman', ['rm', '-f', '--ignore', '-t', '0', 'bench-start'], podmanEnv);
  const detached = (network: string) => () =>
    sh(
      'podman',
      ['--runtime', 'runc', 'run', '-d', '--name', 'bench-start', '--network', network, '-v', `${repo}:${repo}`, 'localhost/bench-busybox', 'sleep', '1d'],
      podmanEnv,
    );
  const podmanStart = await sample(detached('slirp4netns'), removeDetached);
  const podmanStartHost = await sample(detached('host'), removeDetached);
  removeDetached();

  console.log(`entering a live project sandbox (busybox), median of ${runs} runs; node + bin/devbox, then the launcher (native/devbox-launcher)`);
  const rows: [string, number][] = [
    ['devbox run true', run],
    ['devbox shell to prompt', shell],
    ['launcher: devbox run true', runLauncher],
    ['launcher: devbox shell', shellLauncher],
    ['config check (in process)', check],
    ['podman exec true', exec],
    ['podman run --rm -v repo:repo', podmanRun],
  ];
  for (const [name, ms] of rows) console.log(`${name.padEnd(30)} ${ms.toFixed(1).padStart(7)} ms   ${(ms / exec).toFixed(2)}x podman exec`);
  console.log(`\nstarting a project sandbox (devbox run true after devbox stop) vs podman run -d, median of ${runs} runs`);
  const starts: [string, number, number][] = [
    ['devbox start, slirp4netns', start, podmanStart],
    ['devbox start, host network', startHost, podmanStartHost],
    ['podman run -d, slirp4netns', podmanStart, podmanStart],
    ['podman run -d, host network', podmanStartHost, podmanStartHost],
  ];
  for (const [name, ms, peer] of starts) console.log(`${name.padEnd(30)} ${ms.toFixed(1).padStart(7)} ms   ${(ms / peer).toFixed(2)}x podman (same network)`);
} finally {
  for (const cwd of [repo, hostRepo]) spawnSync(process.execPath, [DEVBOX_BIN, 'stop'], { cwd, env, stdio: 'ignore' });
  spawnSync('podman', ['rm', '-f', '-t', '0', 'bench-start'], { stdio: 'ignore', env: podmanEnv });
  spawnSync('podman', ['rm', '-f', '-t', '0', 'bench-live'], { stdio: 'ignore', env: podmanEnv });
  spawnSync('podman', ['rmi', '-f', 'localhost/bench-busybox'], { stdio: 'ignore', env: podmanEnv });
  spawnSync('podman', ['unshare', 'rm', '-rf', join(work, 'podman-data')], { stdio: 'ignore', env: podmanEnv });
  spawnSync(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, work], { stdio: 'inherit' });
  rmSync(work, { recursive: true, force: true });
}
