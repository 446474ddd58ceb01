/**
 * Building a dev template, devbox build against podman build (runc, podman's default storage), measured in
 * one run as the current (unprivileged) user: Debian minbase + `apt-get install -y git make`, cold (no
 * cache: apt downloads from Debian's mirrors each time, for both) and a rebuild with nothing changed.
 * Prints the median of each and the devbox/podman ratios.
 *
 * Usage: node dist/bench/build.js [COLD_RUNS] [NOOP_RUNS]
 * The Debian minbase root file system is made with mmdebstrap (~15 s), or taken from DEVBOX_MINBASE_TAR.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEVBOX_BIN } from '../test/helpers/cli.js';
import { median, sh } from './measure.js';

const coldRuns = Number(process.argv[2] ?? 3);
const noopRuns = Number(process.argv[3] ?? 10);

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  sh(cmd, args, env);
  return performance.now() - t0;
}

const work = mkdtempSync(join(tmpdir(), 'devbox-bench-build-'));
const env = { ...process.env, XDG_DATA_HOME: join(work, 'data'), XDG_CONFIG_HOME: join(work, 'config') };
const podmanEnv = { ...process.env, XDG_DATA_HOME: join(work, 'podman-data'), XDG_CONFIG_HOME: join(work, 'podman-config') };
const podman = (args: string[]) => ['--runtime', 'runc', ...args];
try {
  const minbase = join(work, 'minbase.tar');
  if (process.env.DEVBOX_MINBASE_TAR) copyFileSync(process.env.DEVBOX_MINBASE_TAR, minbase);
  else sh('mmdebstrap', ['--quiet', '--variant=minbase', 'bookworm', minbase]);
  const context = join(work, 'template');
  mkdirSync(context);
  writeFileSync(join(context, 'Dockerfile'), 'FROM localhost/minbase\nRUN apt-get update && apt-get install -y git make\n');

  sh(process.execPath, [DEVBOX_BIN, 'image', 'import', minbase, 'localhost/minbase'], env);
  sh('podman', podman(['import', minbase, 'localhost/minbase']), podmanEnv);
  const driver = sh('podman', podman(['info', '--format', '{{.Store.GraphDriverName}}']), podmanEnv).trim();

  const devboxBuild = (extra: string[]) => [DEVBOX_BIN, 'build', '-q', ...extra, '-t', 'localhost/template', context];
  const podmanBuild = (extra: string[]) => podman(['build', '-q', '--pull=never', ...extra, '-t', 'localhost/template', context]);
  const cold = { devbox: [] as number[], podman: [] as number[] };
  for (let i = 0; i < coldRuns; i++) {
    // Alternated, so that a slow minute of the mirror or the machine hits both.
    cold.devbox.push(timed(process.execPath, devboxBuild(['--no-cache']), env));
    cold.podman.push(timed('podman', podmanBuild(['--no-cache']), podmanEnv));
  }
  const noop = { devbox: [] as number[], podman: [] as number[] };
  sh(process.execPath, devboxBuild([]), env);
  sh('podman', podmanBuild([]), podmanEnv);
  for (let i = 0; i < noopRuns; i++) noop.devbox.push(timed(process.execPath, devboxBuild([]), env));
  for (let i = 0; i < Math.max(3, Math.ceil(noopRuns / 2)); i++) noop.podman.push(timed('podman', podmanBuild([]), podmanEnv));

  const row = (name: string, ms: number, peer: number) =>
    console.log(`${name.padEnd(34)} ${(ms / 1000).toFixed(3).padStart(8)} s   ${(ms / peer).toFixed(3)}x podman`);
  console.log(`Debian minbase + apt-get install -y git make; cold: median of ${coldRuns}, no-op: median of ${noopRuns} (podman storage: ${driver})`);
  row('devbox build, cold (--no-cache)', median(cold.devbox), median(cold.podman));
  row('podman build, cold (--no-cache)', median(cold.podman), median(cold.podman));
  row('devbox build, nothing changed', median(noop.devbox), median(noop.podman));
  row('podman build, nothing changed', median(noop.podman), median(noop.podman));
  row('node -e 0', median(Array.from({ length: 5 }, () => timed(process.execPath, ['-e', '0'], env))), median(noop.podman));
  console.log('targets: cold <= 0.8x podman, nothing changed <= 0.05x podman');
} finally {
  spawnSync('podman', ['unshare', 'rm', '-rf', join(work, 'podman-data')], { stdio: 'ignore', env: podmanEnv });
  spawnSync(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, work], { stdio: 'inherit' });
  rmSync(work, { recursive: true, force: true });
}
