/** What every benchmark script shares: running a step that must succeed, and the median of samples. */
import { spawnSync } from 'node:child_process';

/** Runs a command that must succeed (its last lines of stderr in the error otherwise); returns its stdout. */
export function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): string {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
  return r.stdout;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
