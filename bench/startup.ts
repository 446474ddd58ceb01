/**
 * Sandbox start-up: `devbox run --rm IMG true` against `podman run --rm IMG true` (runc) and bwrap on the same
 * busybox root file system, measured in one run, as the current (unprivileged) user; with the isolated
 * (slirp4netns) network and with the host's. What confinement costs: the same run without the seccomp filter
 * and the masked paths, and the helper alone (no Node.js, a single-id map) with and without them, compiling
 * the filter or loading it from the cache devbox run keeps.
 * Prints the median of each and the devbox/podman ratio. Usage: node dist/bench/startup.js [RUNS]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { busyboxRootfs, packTar } from '../test/helpers/images.js';
import { DEVBOX_BIN } from '../test/helpers/cli.js';
import { capabilityArgs, pathSecurityArgs, processSecurityArgs, resolveSecurity } from '../src/runtime/security.js';
import { helperPath } from '../src/runtime/helper.js';
import { median, sh } from './measure.js';

const runs = Number(process.argv[2] ?? 30);

function time(cmd: string, args: string[], env?: NodeJS.ProcessEnv): number[] {
  for (let i = 0; i < 3; i++) sh(cmd, args, env); // warm caches
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    sh(cmd, args, env);
    samples.push(performance.now() - t0);
  }
  return samples;
}

const work = mkdtempSync(join(tmpdir(), 'devbox-bench-'));
const env = { ...process.env, XDG_DATA_HOME: join(work, 'data'), XDG_CONFIG_HOME: join(work, 'config') };
const results: { name: string; median: number }[] = [];
try {
  const tarPath = join(work, 'rootfs.tar');
  writeFileSync(tarPath, await packTar(busyboxRootfs()));
  const rootfs = join(work, 'rootfs');
  sh('mkdir', [rootfs]);
  sh('tar', ['-xf', tarPath, '-C', rootfs]);

  sh(process.execPath, [DEVBOX_BIN, 'image', 'import', tarPath, 'bench-busybox'], env);
  for (const [storage, network] of [
    ['native', 'slirp4netns'],
    ['fuse', 'slirp4netns'],
    ['native', 'host'],
  ]) {
    const samples = time(process.execPath, [DEVBOX_BIN, 'run', '--rm', '--storage', storage, '--network', network, 'bench-busybox', 'true'], env);
    results.push({ name: `devbox run --rm (${storage}, ${network})`, median: median(samples) });
  }
  const unconfined = ['--security-opt', 'seccomp=unconfined', '--security-opt', 'systempaths=unconfined'];
  const unconfinedRun = [DEVBOX_BIN, 'run', '--rm', '--storage', 'native', '--network', 'host', ...unconfined, 'bench-busybox', 'true'];
  results.push({ name: 'devbox run --rm (native, host, unconfined)', median: median(time(process.execPath, unconfinedRun, env)) });
  // The helper alone, on a directory root with a map it writes itself: the filter's compile and load, the masks.
  const security = resolveSecurity();
  const helperBase = ['--uid-map', `0:${process.getuid!()}:1`, '--gid-map', `0:${process.getgid!()}:1`, '--rootfs', rootfs];
  const helperConfined = [...helperBase, ...pathSecurityArgs(security), ...processSecurityArgs(security), '--', '/bin/true'];
  results.push({ name: 'devbox-helper (default confinement)', median: median(time(helperPath(), helperConfined)) });
  // What devbox run passes: the filter compiled once and loaded from the store's cache on every later run.
  const helperCached = [...helperBase, ...pathSecurityArgs(security), ...processSecurityArgs(security, join(work, 'seccomp')), '--', '/bin/true'];
  results.push({ name: 'devbox-helper (default confinement, cached filter)', median: median(time(helperPath(), helperCached)) });
  results.push({
    name: 'devbox-helper (capabilities only)',
    median: median(time(helperPath(), [...helperBase, ...capabilityArgs(security), '--', '/bin/true'])),
  });
  const podmanEnv = { ...process.env, XDG_DATA_HOME: join(work, 'podman-data') };
  sh('podman', ['import', tarPath, 'localhost/bench-busybox'], podmanEnv);
  const podman = median(time('podman', ['--runtime', 'runc', 'run', '--rm', '--network', 'host', 'localhost/bench-busybox', 'true'], podmanEnv));
  results.push({ name: 'podman run --rm (runc, host)', median: podman });
  const podmanSlirp = median(time('podman', ['--runtime', 'runc', 'run', '--rm', '--network', 'slirp4netns', 'localhost/bench-busybox', 'true'], podmanEnv));
  results.push({ name: 'podman run --rm (runc, slirp4netns)', median: podmanSlirp });
  const bwrap = median(
    time('bwrap', ['--unshare-all', '--share-net', '--bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '/bin/true']),
  );
  results.push({ name: 'bwrap', median: bwrap });
  results.push({ name: 'node -e 0', median: median(time(process.execPath, ['-e', '0'])) });

  console.log(`start-up of a busybox sandbox running true, median of ${runs} runs`);
  for (const r of results) console.log(`${r.name.padEnd(52)} ${r.median.toFixed(1).padStart(7)} ms   ${(r.median / podman).toFixed(2)}x podman`);
  spawnSync('podman', ['rmi', '-f', 'localhost/bench-busybox'], { stdio: 'ignore', env: podmanEnv });
  spawnSync('podman', ['unshare', 'rm', '-rf', join(work, 'podman-data')], { stdio: 'ignore', env: podmanEnv });
} finally {
  spawnSync(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, work], { stdio: 'inherit' });
  rmSync(work, { recursive: true, force: true });
}
