/** What every benchmark script shares: running a step that must succeed, the median of samples, a shell to its prompt. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEVBOX_BIN } from '../test/helpers/cli.js';

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
    sh('mmdebstrap', ['--quiet', '--variant=minbase', ...packages.map((p) => `--include=${p}`), 'bookworm', `${tar}.part`]);
    sh('mv', [`${tar}.part`, tar]);
  }
  return tar;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** `devbox shell` in a pseudo-terminal (script(1)) until its prompt shows, then exit; resolves with the time to the prompt. */
/** `devbox shell` up to its prompt in a pseudo-terminal; `devbox`: the command line of devbox (Node.js and bin/devbox, or the launcher). */
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
