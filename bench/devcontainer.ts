/**
 * Opening a Dev Containers project with Features: the first `devbox shell` of a fresh clone (the image pulled
 * from a registry through registryMirrors, two OCI Features fetched and installed, the sandbox started, up to
 * the prompt) and the second (nothing changed: the live sandbox joined), against podman doing what
 * devcontainers/cli has it do (pull, build the Features' Dockerfile, run -d, exec) and `podman exec`; in one
 * run, as the current (unprivileged) user. Each cold sample has a store and a project of its own; they are
 * removed at the end (deleting many files slows the disk down for what follows).
 * Usage: node dist/bench/devcontainer.js [COLD_RUNS] [WARM_RUNS]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEVBOX_BIN, DEVBOX_LAUNCHER } from '../test/helpers/cli.js';
import { devcontainerArchive } from '../test/helpers/devcontainer.js';
import { publishFeature, writeFeature } from '../test/helpers/features.js';
import { startRegistry } from '../test/helpers/registry.js';
import { median, sh, shellToPrompt } from './measure.js';

const coldRuns = Number(process.argv[2] ?? 3);
const warmRuns = Number(process.argv[3] ?? 30);
const work = mkdtempSync(join(tmpdir(), 'devbox-bench-dc-'));
process.env.DEVBOX_TEST_TMP = work; // the test helpers make their files there
const IMAGE = 'mcr.microsoft.com/devcontainers/base:bookworm';

const FEATURES = {
  'common-utils': {
    options: { username: { type: 'string', default: 'vscode' } },
    install: 'mkdir -p /usr/local/share && echo "for $USERNAME" > /usr/local/share/common-utils',
  },
  node: {
    options: { version: { type: 'string', default: 'lts' } },
    installsAfter: ['ghcr.io/devcontainers/features/common-utils'],
    install: 'mkdir -p /usr/local/share/nvm && echo "$VERSION" > /usr/local/share/nvm/version',
  },
};

mkdirSync(join(work, 'registry'));
const registry = await startRegistry(join(work, 'registry'));
const podmanRoot = (i: number) => ['--root', join(work, `podman-${i}`, 'root'), '--runroot', mkdtempSync('/tmp/devbox-bench-podman-'), '--runtime', 'runc'];
const projects: { cwd: string; env: NodeJS.ProcessEnv }[] = [];
const podmans: string[][] = [];
try {
  const config = join(work, 'config');
  mkdirSync(join(config, 'devbox'), { recursive: true });
  writeFileSync(
    join(config, 'devbox', 'config.json'),
    JSON.stringify({ registryMirrors: { 'mcr.microsoft.com': [registry.host], 'ghcr.io': [registry.host] } }),
  );
  const seed = { ...process.env, XDG_DATA_HOME: join(work, 'seed'), XDG_CONFIG_HOME: config };
  const archive = await devcontainerArchive(IMAGE, {
    metadata: [{ remoteUser: 'vscode' }],
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
  });
  sh(process.execPath, [DEVBOX_BIN, 'image', 'load', '-i', archive], seed);
  sh(process.execPath, [DEVBOX_BIN, 'push', '-q', IMAGE, `${registry.host}/devcontainers/base:bookworm`], seed);
  const featureDirs: Record<string, string> = {};
  for (const [id, { install, ...metadata }] of Object.entries(FEATURES)) {
    featureDirs[id] = join(work, 'features', id);
    writeFeature(featureDirs[id], { metadata: { id, version: '1.0.0', ...metadata }, install: `#!/bin/sh\nset -e\n${install}\n` });
    await publishFeature(featureDirs[id], `${registry.host}/devcontainers/features/${id}:1`);
  }
  const devcontainer = JSON.stringify({
    image: IMAGE,
    features: { 'ghcr.io/devcontainers/features/node:1': '20', 'ghcr.io/devcontainers/features/common-utils:1': {} },
  });

  const cold: number[] = [];
  for (let i = 0; i < coldRuns; i++) {
    const cwd = join(work, `project-${i}`);
    mkdirSync(join(cwd, '.devcontainer'), { recursive: true });
    writeFileSync(join(cwd, '.devcontainer', 'devcontainer.json'), devcontainer);
    const env = { ...process.env, XDG_DATA_HOME: join(work, `data-${i}`), XDG_CONFIG_HOME: config, XDG_CACHE_HOME: join(work, 'cache') };
    projects.push({ cwd, env });
    cold.push(await shellToPrompt(cwd, env));
  }
  const live = projects[projects.length - 1];
  const warm: number[] = [];
  // As `devbox` on the PATH (the launcher) enters: the first of these records the join, the others replay it.
  for (let i = 0; i < warmRuns; i++) warm.push(await shellToPrompt(live.cwd, live.env, DEVBOX_LAUNCHER));

  // podman, as devcontainers/cli drives it: pull, the Features' content image and Dockerfile, run -d, exec.
  const context = join(work, 'podman-context');
  mkdirSync(context);
  writeFileSync(join(context, 'devcontainer-features.builtin.env'), '_CONTAINER_USER=root\n_REMOTE_USER=vscode\n');
  for (const [index, id] of ['common-utils', 'node'].entries()) {
    sh('cp', ['-a', featureDirs[id], join(context, `${id}_${index}`)]);
    writeFileSync(
      join(context, `${id}_${index}`, 'devcontainer-features-install.sh'),
      '#!/bin/sh\nset -e\nset -a\n. ../devcontainer-features.builtin.env\nset +a\n./install.sh\n',
    );
  }
  const steps = ['common-utils_0', 'node_1'].map(
    (f) => `COPY --chown=root:root --from=content /tmp/build-features/${f} /tmp/dev-container-features/${f}
RUN chmod -R 0755 /tmp/dev-container-features/${f} && cd /tmp/dev-container-features/${f} && ./devcontainer-features-install.sh`,
  );
  writeFileSync(join(context, 'Dockerfile.content'), 'FROM scratch\nCOPY . /tmp/build-features/\n');
  writeFileSync(
    join(context, 'Dockerfile'),
    `FROM localhost/content AS content\nFROM ${registry.host}/devcontainers/base:bookworm\nUSER root\nRUN mkdir -p /tmp/dev-container-features\nCOPY --from=content /tmp/build-features/devcontainer-features.builtin.env /tmp/dev-container-features/\n${steps.join('\n')}\n`,
  );
  const podmanCold: number[] = [];
  for (let i = 0; i < coldRuns; i++) {
    const root = podmanRoot(i);
    podmans.push(root);
    const t0 = performance.now();
    sh('podman', [...root, 'pull', '-q', '--tls-verify=false', `${registry.host}/devcontainers/base:bookworm`]);
    sh('podman', [...root, 'build', '-q', '-t', 'localhost/content', '-f', join(context, 'Dockerfile.content'), context]);
    sh('podman', [...root, 'build', '-q', '--pull=never', '-t', 'localhost/dc', context]);
    sh('podman', [...root, 'run', '-d', '--name', 'dc', '-v', `${work}:${work}`, 'localhost/dc', 'sleep', '1d']);
    sh('podman', [...root, 'exec', 'dc', 'true']);
    podmanCold.push(performance.now() - t0);
  }
  const podmanWarm: number[] = [];
  const last = podmans[podmans.length - 1];
  for (let i = 0; i < warmRuns; i++) {
    const t0 = performance.now();
    sh('podman', [...last, 'exec', 'dc', 'true']);
    podmanWarm.push(performance.now() - t0);
  }

  const [c, pc, w, pw] = [median(cold), median(podmanCold), median(warm), median(podmanWarm)];
  console.log(`opening a devcontainer.json with two OCI Features (image and Features from a registry through registryMirrors)`);
  console.log(`first devbox shell, to the prompt (median of ${coldRuns})   ${(c / 1000).toFixed(2).padStart(7)} s    ${(c / pc).toFixed(2)}x podman`);
  console.log(`podman pull + build + run -d + exec (median of ${coldRuns})   ${(pc / 1000).toFixed(2).padStart(7)} s    1.00x`);
  console.log(
    `second devbox shell, to the prompt (median of ${warmRuns})  ${w.toFixed(1).padStart(7)} ms   ${(w / pw).toFixed(2)}x podman exec   target ≤ 100 ms: ${w <= 100 ? 'met' : 'missed'}`,
  );
  console.log(`podman exec true (median of ${warmRuns})                     ${pw.toFixed(1).padStart(7)} ms   1.00x`);
  console.log(
    `node -e 0 now: ${(() => {
      const t0 = performance.now();
      spawnSync(process.execPath, ['-e', '0']);
      return (performance.now() - t0).toFixed(1);
    })()} ms; load average: ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  for (const { cwd, env } of projects) spawnSync(process.execPath, [DEVBOX_BIN, 'stop'], { cwd, env, stdio: 'ignore' });
  for (const root of podmans) {
    spawnSync('podman', [...root, 'rm', '-f', '-t', '0', 'dc'], { stdio: 'ignore' });
    spawnSync('podman', [...root, 'unshare', 'rm', '-rf', root[1]], { stdio: 'ignore' });
    rmSync(root[3], { recursive: true, force: true });
  }
  await registry.stop();
  spawnSync(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, work], { stdio: 'inherit' });
  rmSync(work, { recursive: true, force: true });
}
