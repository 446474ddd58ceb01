/**
 * What a long command shows while it works, on stderr (stdout carries only its result): a build's steps
 * (`STEP N/M: INSTRUCTION`, then a RUN's output as it comes, then `--> Using cache` or how long it took),
 * blob transfers of a pull or push, and notes. One object per command, handed down to what it calls: the
 * pull of a build's base image reports through the build's progress, in the build's mode.
 *
 * `plain`: text lines; a transfer is a line when it starts and one when it is done, as podman prints to a
 * pipe. `auto`: on a terminal, steps in colour and a bar per transfer with bytes and rate (cli-progress,
 * loaded only then); elsewhere `plain`. `quiet`: nothing, and a RUN's output is kept to be shown only if the
 * step fails. Warnings are not progress: they go through warn() in every mode.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { MultiBar } from 'cli-progress';
import { formatSize } from './format.js';

export type ProgressMode = 'auto' | 'plain' | 'quiet';

export interface TransferProgress {
  advance(bytes: number): void;
  /** The transfer finished (`verb`: "done", "skipped: already exists", …). */
  finish(verb: string): void;
}

export interface Progress {
  /** A line of its own ("Writing manifest to image destination"). */
  note(line: string): void;
  /** A build step begins. */
  step(number: number, total: number, text: string): void;
  /** The step was found in the cache. */
  cached(): void;
  /** The step ran, taking `seconds`. */
  done(seconds: number): void;
  /** Begins reporting a transfer: `label` says what it is ("Copying blob"), `name` which one. */
  transfer(label: string, name: string, size: number): TransferProgress;
  /** Where a RUN's output goes: a file descriptor, and what to do with it once the step is over. */
  commandOutput(logPath: string): { fd: number; close(failed: boolean): void };
  /** Ends the display (bars stop redrawing). */
  stop(): void;
}

const BOLD = '\x1b[1m';
const DIM = '\x1b[2m';
const BLUE = '\x1b[34m';
const RESET = '\x1b[0m';

/** A step's text on one line of reasonable length. */
function oneLine(text: string): string {
  const line = text.replace(/\s*\n\s*/g, ' ');
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

const silent: TransferProgress = { advance: () => {}, finish: () => {} };

class QuietProgress implements Progress {
  constructor(private readonly stream: NodeJS.WritableStream) {}
  note(): void {}
  step(): void {}
  cached(): void {}
  done(): void {}
  transfer(): TransferProgress {
    return silent;
  }
  commandOutput(logPath: string): { fd: number; close(failed: boolean): void } {
    const fd = openSync(logPath, 'w', 0o600);
    return {
      fd,
      close: (failed) => {
        closeSync(fd);
        if (failed) this.stream.write(readFileSync(logPath, 'utf8'));
      },
    };
  }
  stop(): void {}
}

class LineProgress implements Progress {
  constructor(protected readonly stream: NodeJS.WritableStream) {}

  protected write(text: string): void {
    this.stream.write(text);
  }

  note(line: string): void {
    this.write(`${line}\n`);
  }
  step(number: number, total: number, text: string): void {
    this.write(`STEP ${number}/${total}: ${oneLine(text)}\n`);
  }
  cached(): void {
    this.write('--> Using cache\n');
  }
  done(seconds: number): void {
    this.write(`--> done in ${seconds.toFixed(1)}s\n`);
  }
  transfer(label: string, name: string, size: number): TransferProgress {
    this.write(`${label} ${name} (${formatSize(size)})\n`);
    const started = Date.now();
    return { advance: () => {}, finish: (verb) => this.write(`${label} ${name} ${verb} (${((Date.now() - started) / 1000).toFixed(1)}s)\n`) };
  }
  commandOutput(): { fd: number; close(failed: boolean): void } {
    return { fd: 2, close: () => {} };
  }
  stop(): void {}
}

/** On a terminal: steps in colour, transfers as bars, which stop redrawing once the next line is written. */
class TerminalProgress extends LineProgress {
  private bars: MultiBar | undefined;

  protected override write(text: string): void {
    this.stop(); // finished bars stay on screen above what follows
    this.stream.write(text);
  }

  override step(number: number, total: number, text: string): void {
    this.write(`${BOLD}${BLUE}STEP ${number}/${total}:${RESET}${BOLD} ${oneLine(text)}${RESET}\n`);
  }
  override cached(): void {
    this.write(`${DIM}--> Using cache${RESET}\n`);
  }
  override done(seconds: number): void {
    this.write(`${DIM}--> done in ${seconds.toFixed(1)}s${RESET}\n`);
  }
  override note(line: string): void {
    if (this.bars) this.bars.log(`${line}\n`);
    else this.write(`${line}\n`);
  }

  override transfer(label: string, name: string, size: number): TransferProgress {
    this.bars ??= this.createBars();
    const started = Date.now();
    let done = 0;
    // cli-progress reserves {value} and {total}: the payload uses other names.
    const payload = (verb: string) => ({
      name: `${label} ${name}`,
      verb,
      done: formatSize(done),
      size: formatSize(size),
      rate: `${formatSize(done / Math.max(0.001, (Date.now() - started) / 1000))}/s`,
    });
    const bar = this.bars.create(Math.max(size, 1), 0, payload(''));
    return {
      advance: (bytes) => {
        done += bytes;
        bar.update(done, payload(''));
      },
      finish: (verb) => {
        done = size;
        bar.update(Math.max(size, 1), payload(verb));
        bar.stop();
      },
    };
  }

  override stop(): void {
    this.bars?.stop();
    this.bars = undefined;
  }

  private createBars(): MultiBar {
    // cli-progress is CommonJS; required here so that only a terminal showing transfers loads it.
    const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
    return new cliProgress.MultiBar({
      stream: this.stream as NodeJS.WriteStream,
      format: '{name} [{bar}] {done} / {size} {rate} {verb}',
      barsize: 20,
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
    });
  }
}

export function createProgress(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (mode === 'quiet') return new QuietProgress(stream);
  return mode === 'auto' && stream.isTTY === true ? new TerminalProgress(stream) : new LineProgress(stream);
}

/** The caller's progress as it is, or one of the callee's own in the given mode, which the callee then stops (`own`). */
export function progressFor(given: Progress | ProgressMode | undefined): { progress: Progress; own: boolean } {
  return typeof given === 'object' ? { progress: given, own: false } : { progress: createProgress(given ?? 'auto'), own: true };
}
