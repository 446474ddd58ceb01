/**
 * The progress of stages that run at the same time, shown one stage after the other, so that output is never
 * interleaved: stages are shown in the order they started (file order), the first one not yet over writes as it
 * goes, and the others keep what they show (their RUN output in the step's log file) until their turn. Steps are
 * numbered when they are shown, so the output is what a build of one stage after the other prints.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import type { Progress, TransferProgress } from '../util/progress.js';

/** A stage's progress: the build's, plus the end of the stage. */
export interface StageProgress extends Progress {
  /** The stage is over: what it kept is shown, and the next stage writes as it goes. */
  finish(): void;
}

interface Channel {
  kept: (() => void)[];
  finished: boolean;
}

export class StageOutputs {
  private readonly channels: Channel[] = [];
  private head = 0;
  private number = 0;

  /** `total`: the number of steps, which ONBUILD triggers may raise (addSteps). */
  constructor(
    private readonly base: Progress,
    private readonly stream: NodeJS.WritableStream,
    private total: number,
  ) {}

  addSteps(count: number): void {
    this.total += count;
  }

  /** Nothing of the stages is shown before `done` settles (another build's output comes first); call before stage(). */
  holdUntil(done: Promise<unknown>): void {
    const channel: Channel = { kept: [], finished: false };
    this.channels.push(channel);
    const release = () => {
      channel.finished = true;
      if (this.channels[this.head] === channel) this.advance();
    };
    done.then(release, release);
  }

  /** The progress of the next stage to start. */
  stage(): StageProgress {
    const channel: Channel = { kept: [], finished: false };
    this.channels.push(channel);
    const isHead = () => this.channels[this.head] === channel;
    const show = (fn: () => void) => {
      if (isHead()) fn();
      else channel.kept.push(fn);
    };
    const base = this.base;
    return {
      note: (line) => show(() => base.note(line)),
      step: (_number, _total, text) => show(() => base.step(++this.number, this.total, text)),
      cached: () => show(() => base.cached()),
      done: (seconds) => show(() => base.done(seconds)),
      transfer: (label, name, size): TransferProgress => {
        if (isHead()) return base.transfer(label, name, size);
        let shown: TransferProgress | undefined;
        channel.kept.push(() => (shown = base.transfer(label, name, size)));
        return { advance: () => {}, finish: (verb) => show(() => shown?.finish(verb)) };
      },
      commandOutput: (logPath) => {
        const given = base.commandOutput(logPath);
        // Quiet progress keeps the output itself (to show it if the step fails); a stage that writes as it goes too.
        if (given.fd !== 2 || isHead()) return given;
        const fd = openSync(logPath, 'w', 0o600);
        return {
          fd,
          close: () => {
            closeSync(fd);
            const text = readFileSync(logPath, 'utf8');
            show(() => this.stream.write(text));
          },
        };
      },
      stop: () => {},
      finish: () => {
        channel.finished = true;
        if (isHead()) this.advance();
      },
    };
  }

  /** The head stage is over: show the next ones' kept output, up to the first that is still running. */
  private advance(): void {
    for (this.head++; this.head < this.channels.length; this.head++) {
      const channel = this.channels[this.head];
      for (const fn of channel.kept.splice(0)) fn();
      if (!channel.finished) return;
    }
  }
}
