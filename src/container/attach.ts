/**
 * `devbox attach`: this terminal (or these pipes) joined to a running container's command through its
 * supervisor's socket (native/attach.c): the command's output from now on, our input when the container keeps
 * its stdin open (-i), window sizes on a terminal. The detach keys (ctrl-p,ctrl-q by default) leave the
 * container running; without a terminal, SIGINT and SIGTERM are passed on to it (docker's --sig-proxy).
 * Resolves with the command's exit status, or 0 when detached.
 */
import type { Socket } from 'node:net';
import { DevboxError } from '../util/errors.js';
import { connectSupervisor, FrameReader, frame, u32 } from './control.js';
import type { Container } from './lookup.js';

export interface AttachOptions {
  /** Send our input (when the container keeps its stdin open). */
  stdin: boolean;
  detachKeys: number[];
  /** Pass SIGINT and SIGTERM on to the command (not on a terminal, where they are keys). */
  sigProxy: boolean;
}

const ATTACH_STDIN = 1;
const ATTACH_OUTPUT = 2;

/**
 * Watches input for the detach sequence, which may arrive split over reads. Returns the bytes to forward:
 * a partial match is held back until it completes (detach) or fails (forwarded then, as typed).
 */
export class DetachKeyMatcher {
  private matched = 0;

  constructor(private readonly keys: readonly number[]) {}

  feed(chunk: Buffer): { forward: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const byte of chunk) {
      if (this.keys.length && byte === this.keys[this.matched]) {
        if (++this.matched === this.keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      out.push(...this.keys.slice(0, this.matched));
      this.matched = 0;
      if (this.keys.length && byte === this.keys[0]) this.matched = 1;
      else out.push(byte);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}

function sizeFrame(): Buffer {
  const data = Buffer.alloc(4);
  data.writeUInt16BE(process.stdout.rows ?? 24, 0);
  data.writeUInt16BE(process.stdout.columns ?? 80, 2);
  return frame('w', data);
}

export async function attachContainer(container: Container, options: AttachOptions): Promise<number> {
  const socket: Socket = await connectSupervisor(container);
  const withStdin = options.stdin && container.config.interactive;
  const terminal = container.config.process.terminal && process.stdin.isTTY === true;
  socket.write(frame('a', Buffer.from([(withStdin ? ATTACH_STDIN : 0) | ATTACH_OUTPUT])));
  if (terminal) socket.write(sizeFrame());

  return new Promise<number>((resolve, reject) => {
    const cleanups: (() => void)[] = [];
    let settled = false;
    const finish = (status: number | Error) => {
      if (settled) return;
      settled = true;
      for (const undo of cleanups.reverse()) undo();
      socket.destroy();
      if (status instanceof Error) reject(status);
      else resolve(status);
    };
    const reader = new FrameReader();
    socket.on('data', (chunk) =>
      reader.push(chunk, (kind, data) => {
        if (kind === 'o') process.stdout.write(data);
        else if (kind === 'E') process.stderr.write(data);
        else if (kind === 'x') finish(data.readUInt32BE(0));
      }),
    );
    socket.on('error', (error) => finish(new DevboxError(`lost the supervisor of container ${container.config.name}: ${error.message}`)));
    // The supervisor hangs up after the exit frame; a hang-up without one is a supervisor that died.
    socket.on('close', () => finish(new DevboxError(`the supervisor of container ${container.config.name} ended without its status`)));

    if (withStdin) {
      const matcher = new DetachKeyMatcher(options.detachKeys);
      if (terminal) {
        process.stdin.setRawMode(true);
        cleanups.push(() => process.stdin.setRawMode(false));
        const resize = () => socket.write(sizeFrame());
        process.stdout.on('resize', resize);
        cleanups.push(() => process.stdout.off('resize', resize));
      }
      const onData = (chunk: Buffer) => {
        // The keys detach only on a terminal, as docker's: piped input is passed on as it is.
        const { forward, detach } = terminal ? matcher.feed(chunk) : { forward: chunk, detach: false };
        if (forward.length) socket.write(frame('i', forward));
        if (detach) finish(0);
      };
      const onEnd = () => socket.write(frame('e'));
      process.stdin.on('data', onData);
      process.stdin.on('end', onEnd);
      cleanups.push(() => {
        process.stdin.off('data', onData);
        process.stdin.off('end', onEnd);
        process.stdin.pause();
      });
    }
    if (options.sigProxy && !terminal) {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        const pass = () => socket.write(frame('k', u32(signal === 'SIGINT' ? 2 : 15)));
        process.on(signal, pass);
        cleanups.push(() => process.off(signal, pass));
      }
    }
  });
}
