/**
 * Transfer progress on stderr: on a terminal one bar per blob with bytes and rate (cli-progress, loaded only
 * then); otherwise one plain line when a blob starts and one when it is done, as podman prints to a pipe.
 * Quiet prints nothing.
 */
import type { MultiBar, SingleBar } from 'cli-progress';
import { formatSize } from '../util/format.js';
import { digestHex, shortDigest } from '../image/blobs.js';

export interface BlobProgress {
  advance(bytes: number): void;
  /** The transfer finished (`verb`: "done", "skipped: already exists", …). */
  finish(verb: string): void;
}

export interface Progress {
  /** Begins reporting a blob transfer; `label` says what it is ("Copying blob", "Pushing config"). */
  blob(label: string, digest: string, size: number): BlobProgress;
  /** A line of its own ("Writing manifest"). */
  note(line: string): void;
  stop(): void;
}

const silent: BlobProgress = { advance: () => {}, finish: () => {} };

class QuietProgress implements Progress {
  blob(): BlobProgress {
    return silent;
  }
  note(): void {}
  stop(): void {}
}

class LineProgress implements Progress {
  constructor(private readonly out: NodeJS.WritableStream) {}

  blob(label: string, digest: string, size: number): BlobProgress {
    this.out.write(`${label} ${shortDigest(digest)} (${formatSize(size)})\n`);
    const started = Date.now();
    return {
      advance: () => {},
      finish: (verb) => this.out.write(`${label} ${shortDigest(digest)} ${verb} (${((Date.now() - started) / 1000).toFixed(1)}s)\n`),
    };
  }

  note(line: string): void {
    this.out.write(`${line}\n`);
  }

  stop(): void {}
}

class BarProgress implements Progress {
  constructor(private readonly bars: MultiBar) {}

  blob(label: string, digest: string, size: number): BlobProgress {
    const started = Date.now();
    let done = 0;
    // cli-progress reserves {value} and {total}: the payload uses other names.
    const payload = (verb: string) => ({
      name: `${label} ${digestHex(digest).slice(0, 12)}`,
      verb,
      done: formatSize(done),
      size: formatSize(size),
      rate: `${formatSize(done / Math.max(0.001, (Date.now() - started) / 1000))}/s`,
    });
    const bar: SingleBar = this.bars.create(Math.max(size, 1), 0, payload(''));
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

  note(line: string): void {
    this.bars.log(`${line}\n`);
  }

  stop(): void {
    this.bars.stop();
  }
}

export async function createProgress(quiet: boolean, out: NodeJS.WriteStream = process.stderr): Promise<Progress> {
  if (quiet) return new QuietProgress();
  if (!out.isTTY) return new LineProgress(out);
  const { default: cliProgress } = await import('cli-progress');
  const bars = new cliProgress.MultiBar({
    stream: out,
    format: '{name} [{bar}] {done} / {size} {rate} {verb}',
    barsize: 20,
    hideCursor: true,
    clearOnComplete: false,
    autopadding: true,
  });
  return new BarProgress(bars);
}
