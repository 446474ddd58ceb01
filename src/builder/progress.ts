/**
 * What a build shows while it runs, on stderr (stdout carries only the image id): one line per step,
 * `STEP N/M: INSTRUCTION`, then the RUN's output as it comes, then `--> Using cache` or how long it took.
 * `plain` is that as text; `tty` (what `auto` picks on a terminal) marks steps and results in colour;
 * `quiet` shows nothing and keeps a RUN's output to show only if the step fails.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';

export type ProgressMode = 'auto' | 'plain' | 'quiet';

export interface Progress {
  step(number: number, total: number, text: string): void;
  cached(): void;
  done(seconds: number): void;
  note(text: string): void;
  /** Where a RUN's output goes: a file descriptor, and what to do with it once the step is over. */
  openOutput(logPath: string): { fd: number; close(failed: boolean): void };
}

const BOLD = '\x1b[1m';
const DIM = '\x1b[2m';
const BLUE = '\x1b[34m';
const RESET = '\x1b[0m';

function limit(text: string): string {
  const line = text.replace(/\s*\n\s*/g, ' ');
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

export function createProgress(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = mode === 'auto' && stream.isTTY === true;
  const quiet = mode === 'quiet';
  const write = (text: string) => {
    if (!quiet) stream.write(text);
  };
  return {
    step: (number, total, text) =>
      write(tty ? `${BOLD}${BLUE}STEP ${number}/${total}:${RESET}${BOLD} ${limit(text)}${RESET}\n` : `STEP ${number}/${total}: ${limit(text)}\n`),
    cached: () => write(tty ? `${DIM}--> Using cache${RESET}\n` : '--> Using cache\n'),
    done: (seconds) => write(tty ? `${DIM}--> done in ${seconds.toFixed(1)}s${RESET}\n` : `--> done in ${seconds.toFixed(1)}s\n`),
    note: (text) => stream.write(`${text}\n`),
    openOutput: (logPath) => {
      if (!quiet) return { fd: 2, close: () => {} };
      const fd = openSync(logPath, 'w', 0o600);
      return {
        fd,
        close: (failed) => {
          closeSync(fd);
          if (failed) stream.write(readFileSync(logPath, 'utf8'));
        },
      };
    },
  };
}
