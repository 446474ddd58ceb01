/**
 * A real pseudo-terminal driven like a user at a keyboard: a tmux server of the test's own (its own socket,
 * no user config), one window running the command, keys sent and the screen read back.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface Terminal {
  send(text: string): void;
  /** Waits until the screen matches; returns the screen. Throws with the screen after the timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  screen(): string;
  close(): void;
}

export function openTerminal(command: string, options: { cwd: string; env?: Record<string, string> }): Terminal {
  const socket = `devbox-test-${randomBytes(6).toString('hex')}`;
  const tmux = (...args: string[]) =>
    execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8', cwd: options.cwd, env: { ...process.env, ...options.env } });
  // remain-on-exit keeps the pane, so what the command printed last can still be read after it exits.
  // (in the same tmux command, before the server's event loop can see the command exit)
  tmux('new-session', '-d', '-x', '120', '-y', '40', '-c', options.cwd, command, ';', 'set-option', '-g', 'remain-on-exit', 'on');
  const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-200');
  return {
    send(text) {
      tmux('send-keys', '-l', text);
    },
    screen,
    async waitFor(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = screen();
        if (pattern.test(text)) return text;
        if (Date.now() > deadline) throw new Error(`terminal never showed ${pattern}; screen:\n${text}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close() {
      try {
        tmux('kill-server');
      } catch {
        // already gone
      }
    },
  };
}
