/** What every benchmark script shares: running a step that must succeed, the median of samples, a shell to its prompt. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEVBOX_BIN } from '../test/helpers/cli.js';
import { seedImage, type TestRegistry } from '../test/helpers/registry.js';

/** Runs a command that must succeed (its last lines of stderr in the error otherwise); returns its stdout. */
export function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): string {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
  return r.stdout;
}

/**
 * A Debian bookworm minbase root file system (with `packages`) as a tar, made once with mmdebstrap (needs
 * Debian's package mirror) and kept in the user's cache as `name`.tar; `$override` names a tar to use instead.
 */
export function cachedMinbase(name: string, packages: readonly string[], override: string): string {
  if (process.env[override]) return process.env[override]!;
  const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'devbox-bench');
  const tar = join(cache, `${name}.tar`);
  if (!existsSync(tar)) {
    mkdirSync(cache, { recursive: true });
    console.log(`making the Debian minbase root file system${packages.length ? ` with ${packages.join(', ')}` : ''} (once)…`);
    // The format named: mmdebstrap takes it from the output's name, and a ".part" name would make a directory.
    sh('mmdebstrap', ['--quiet', '--variant=minbase', '--format=tar', ...packages.map((p) => `--include=${p}`), 'bookworm', `${tar}.part`]);
    sh('mv', [`${tar}.part`, tar]);
  }
  return tar;
}

/**
 * What the official Debian images (debuerreotype) configure, and what their -slim variant leaves out, for a
 * minbase made with mmdebstrap to stand in for debian:bookworm-slim: dpkg without an fsync per file, apt
 * without translations and with compressed lists, no documentation, manuals or locales installed.
 */
export const DEBIAN_SLIM_CONFIG = `RUN echo force-unsafe-io > /etc/dpkg/dpkg.cfg.d/docker-apt-speedup \\
 && echo 'Acquire::Languages "none";' > /etc/apt/apt.conf.d/docker-no-languages \\
 && echo 'Acquire::GzipIndexes "true";' > /etc/apt/apt.conf.d/docker-gzip-indexes \\
 && printf 'path-exclude %s\\n' '/usr/share/doc/*' '/usr/share/man/*' '/usr/share/info/*' '/usr/share/locale/*' \\
      '/usr/share/groff/*' '/usr/share/lintian/*' > /etc/dpkg/dpkg.cfg.d/docker-slim \\
 && printf 'path-include %s\\n' '/usr/share/doc/*/copyright' >> /etc/dpkg/dpkg.cfg.d/docker-slim
`;

/**
 * Puts the Debian minbase `tar` into `registry` as `ref`, the way registries usually hold an image (skopeo
 * pushes its layer gzip-compressed): imported into a store of its own under `work` (with the Dockerfile
 * steps `configure` built on top), saved, then pushed.
 */
export async function seedMinbase(work: string, registry: TestRegistry, tar: string, ref: string, configure?: string): Promise<void> {
  const env = { ...process.env, XDG_DATA_HOME: join(work, 'seed', 'data'), XDG_CONFIG_HOME: join(work, 'seed', 'config') };
  sh(process.execPath, [DEVBOX_BIN, 'image', 'import', tar, 'seed-minbase'], env);
  if (configure) {
    const context = join(work, 'seed', 'context');
    mkdirSync(context, { recursive: true });
    writeFileSync(join(context, 'Dockerfile'), `FROM seed-minbase\n${configure}`);
    sh(process.execPath, [DEVBOX_BIN, 'build', '-q', '-t', 'seed-minbase', context], env);
  }
  const archive = join(work, 'seed-archive.tar');
  sh(process.execPath, [DEVBOX_BIN, 'image', 'save', '-o', archive, 'seed-minbase'], env);
  await seedImage(archive, `${registry.host}/${ref}`);
  rmSync(archive); // the seed's store stays until the end, like every store of a benchmark
}

/**
 * Where a build went, from its plain progress lines: each step that took `seconds` or more (`STEP N/M: TEXT`
 * then `--> done in Xs`; steps of stages built at the same time overlap) and each such transfer.
 */
export function slowSteps(output: string, seconds: number): string[] {
  const found: string[] = [];
  let step = '';
  for (const line of output.split('\n')) {
    const started = /^STEP \d+\/\d+: (.*)$/.exec(line);
    if (started) step = started[1];
    const done = /^--> done in ([\d.]+)s$/.exec(line);
    if (done && Number(done[1]) >= seconds) found.push(`${done[1].padStart(6)} s  ${step.slice(0, 100)}`);
    const transfer = /^(.*) \(([\d.]+)s\)$/.exec(line);
    if (transfer && Number(transfer[2]) >= seconds) found.push(`${transfer[2].padStart(6)} s  ${transfer[1].slice(0, 100)}`);
  }
  return found;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * `devbox shell` in a pseudo-terminal (script(1)) until its prompt shows, then exit; resolves with the time to
 * the prompt. `devbox`: the command line of devbox (Node.js and bin/devbox, or the launcher).
 */
export function shellToPrompt(cwd: string, env: NodeJS.ProcessEnv, devbox = `${process.execPath} ${DEVBOX_BIN}`): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('script', ['-qec', `${devbox} shell`, '/dev/null'], { cwd, env, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    let prompted = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!prompted && out.includes('(devbox:')) {
        prompted = true;
        resolve(performance.now() - t0);
        child.stdin.end('exit\n');
      }
    });
    child.once('exit', (code) => (prompted ? undefined : reject(new Error(`devbox shell exited ${code} before its prompt: ${out.slice(-500)}`))));
  });
}
