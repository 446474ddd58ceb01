/**
 * The first entry into each template's project on a fresh store: `devbox init --template NAME`, then `devbox
 * run true`, which takes the path of a first `devbox shell` (build the environment, with packages from Debian's
 * mirror and the rest local, start the sandbox, join it) without waiting for a prompt: the templates' Debian
 * bash sets its own. Then a second project from the same template in the same store,
 * whose build must run no step: every one is in the cache (checked: it adds no build-cache entry). Target: the
 * first shell under 120 s. debian:bookworm-slim comes from a local registry standing in for Docker Hub
 * (registryMirrors), made from a Debian minbase ($DEVBOX_BENCH_ROOTFS, else made once with mmdebstrap) configured
 * as the official slim image is (DEBIAN_SLIM_CONFIG: without it dpkg fsyncs every file it unpacks); what a
 * template downloads from the npm registry (node: Node.js and npm) is fetched once with `npm pack` into the
 * benchmarks' cache and served from 127.0.0.1 through the template's NPM_REGISTRY argument. No peer: podman has
 * no `shell`, and its build of the same Dockerfile is bench/build.ts's subject.
 * Usage: node dist/bench/templates.js [TEMPLATE...]
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, createReadStream } from 'node:fs';
import { execFile, spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { listTemplates } from '../src/project/templates.js';
import { TEMPLATES_DIR } from '../src/project/package-files.js';
import { DEVBOX_BIN } from '../test/helpers/cli.js';
import { startRegistry } from '../test/helpers/registry.js';
import { cachedMinbase, DEBIAN_SLIM_CONFIG, seedMinbase, sh, slowSteps } from './measure.js';

const names = process.argv.slice(2).length ? process.argv.slice(2) : listTemplates().map((t) => t.name);
const TARGET_MS = 120_000;
const execFileAsync = promisify(execFile);

/** The npm registry's tarballs the templates name (`${NPM_REGISTRY}/PACKAGE/-/FILE.tgz`), by path. */
function npmDownloads(): Map<string, { spec: string; file: string }> {
  const found = new Map<string, { spec: string; file: string }>();
  for (const name of names) {
    const dockerfile = readFileSync(join(TEMPLATES_DIR, name, 'Dockerfile'), 'utf8');
    for (const [, pkg, file] of dockerfile.matchAll(/\$\{NPM_REGISTRY\}\/((?:@[^/\s]+\/)?[^/\s]+)\/-\/(\S+\.tgz)/g)) {
      const version = file.slice(pkg.replace(/^@[^/]+\//, '').length + 1, -'.tgz'.length);
      found.set(`/${pkg}/-/${file}`, { spec: `${pkg}@${version}`, file });
    }
  }
  return found;
}

/** Serves those tarballs from the benchmarks' cache, fetching the missing ones with npm (which checks them). */
async function serveNpmDownloads(): Promise<{ url: string; close: () => void }> {
  const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'devbox-bench', 'npm');
  mkdirSync(cache, { recursive: true });
  const downloads = npmDownloads();
  for (const { spec, file } of downloads.values()) {
    if (!existsSync(join(cache, file))) sh('npm', ['pack', '--silent', '--pack-destination', cache, spec]);
  }
  const server = http.createServer((req, res) => {
    const wanted = downloads.get(req.url ?? '');
    if (!wanted) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    createReadStream(join(cache, wanted.file)).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/** `devbox run true` in `root`, asynchronously (the npm server above runs in this process); returns its stderr. */
async function enter(root: string, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await execFileAsync(process.execPath, [DEVBOX_BIN, 'run', 'true'], { env, cwd: root, maxBuffer: 64 << 20 })).stderr;
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '');
    throw new Error(`devbox run true in ${root} failed: ${stderr.trim().split('\n').slice(-5).join('\n')}`);
  }
}

const count = (dir: string) => (existsSync(dir) ? readdirSync(dir).length : 0);

const work = mkdtempSync(join(tmpdir(), 'devbox-bench-templates-'));
process.env.DEVBOX_TEST_TMP = work; // where the test helpers keep skopeo's credentials file
mkdirSync(join(work, 'registry'));
const registry = await startRegistry(join(work, 'registry'));
const npm = await serveNpmDownloads();
let failed = false;
try {
  await seedMinbase(work, registry, cachedMinbase('minbase-bookworm', [], 'DEVBOX_BENCH_ROOTFS'), 'library/debian:bookworm-slim', DEBIAN_SLIM_CONFIG);
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(`first entry (devbox run true) into a new project of each template on a fresh store, then a second project (load ${load()})`);
  for (const name of names) {
    const env = { ...process.env, XDG_DATA_HOME: join(work, name, 'data'), XDG_CONFIG_HOME: join(work, name, 'config') };
    sh(process.execPath, [DEVBOX_BIN, 'config', 'set', 'registryMirrors', JSON.stringify({ 'docker.io': [registry.host] })], env);
    const buildCache = join(work, name, 'data', 'devbox', 'build-cache');
    const timings: number[] = [];
    let entriesBefore = 0;
    for (const project of ['first', 'second']) {
      const root = join(work, name, project);
      mkdirSync(root, { recursive: true });
      sh(process.execPath, [DEVBOX_BIN, 'init', '--template', name], env, root);
      if (readFileSync(join(root, '.devbox', 'Dockerfile'), 'utf8').includes('${NPM_REGISTRY}')) {
        const config = JSON.parse(readFileSync(join(root, 'devbox.json'), 'utf8'));
        writeFileSync(join(root, 'devbox.json'), JSON.stringify({ ...config, build: { args: { NPM_REGISTRY: npm.url } } }, null, 2));
      }
      if (project === 'second') entriesBefore = count(buildCache);
      const t0 = performance.now();
      try {
        const output = await enter(root, env);
        timings.push(performance.now() - t0);
        if (project === 'first') for (const line of slowSteps(output, 1)) console.log(`    ${line}`);
      } finally {
        // Not sh(): a sandbox that never started has nothing to stop, and the entry's own error is the one to see.
        spawnSync(process.execPath, [DEVBOX_BIN, 'stop'], { env, cwd: root, stdio: 'ignore' });
      }
    }
    const stepsRun = count(buildCache) - entriesBefore;
    const [first, second] = timings.map((ms) => `${(ms / 1000).toFixed(1).padStart(6)} s`);
    const verdicts = [timings[0] > TARGET_MS ? 'over the 120 s target' : '', stepsRun ? `the second project ran ${stepsRun} step(s)` : ''].filter(Boolean);
    if (verdicts.length) failed = true;
    console.log(`${name.padEnd(9)} first entry ${first}   second project ${second}${verdicts.length ? `   ${verdicts.join('; ')}` : ''}`);
  }
  console.log(`(load ${load()} at the end)`);
} finally {
  npm.close();
  await registry.stop();
  sh(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, work]);
  rmSync(work, { recursive: true, force: true });
}
if (failed) process.exitCode = 1;
