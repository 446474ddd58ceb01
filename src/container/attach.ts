/**
 * `devbox attach`: this terminal joined to a running container through its supervisor's socket (control.ts,
 * native/attach.c): the command's output from now on, and with `-i` containers our stdin, until the command
 * exits (its status is ours) or the detach keys are typed (the container runs on). Docker's and podman's rules:
 * no stdin for a container made without -i or with --no-stdin; signals go to the command unless it has a
 * terminal or --sig-proxy=false.
 */
import type { Socket } from 'node:net';
import { DevboxError } from '../util/errors.js';
import { signalNumber } from '../util/signals.js';
import { connectSupervisor, FrameReader, frame, u32 } from './control.js';
import { type Container, currentState, isRunning } from './lookup.js';
import { readState } from './records.js';

export interface AttachOptions {
  /** Relay our stdin (when the container keeps its stdin open). */
  stdin: boolean;
  /** Pass SIGINT, SIGTERM and SIGHUP on to the command (not with a terminal: the keys go through it). */
  sigProxy: boolean;
  detachKeys: number[];
}

/** How an attach ended: the command's exit status, or the detach keys left it running. */
export type AttachOutcome = { exited: number } | { detached: true };

const PROXIED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Finds the detach keys in input: bytes that may begin them are held until they do or do not, so a key
 * sequence split across reads still detaches and a partial one is passed on whole.
 */
export class DetachKeyFilter {
  private held: number[] = [];

  constructor(private readonly keys: readonly number[]) {}

  /** The bytes to pass on, and whether the keys were typed (what follows them is dropped). */
  push(chunk: Buffer): { pass: Buffer; detach: boolean } {
    const pass: number[] = [];
    for (const byte of chunk) {
      if (!this.keys.length) {
        pass.push(byte);
        continue;
      }
      this.held.push(byte);
      while (this.held.length && !this.held.every((b, i) => b === this.keys[i])) pass.push(this.held.shift()!);
      if (this.held.length === this.keys.length) return { pass: Buffer.from(pass), detach: true };
    }
    return { pass: Buffer.from(pass), detach: false };
  }
}

function resize(socket: Socket): void {
  const { rows, columns } = process.stdout;
  if (!rows || !columns) return;
  const size = Buffer.alloc(4);
  size.writeUInt16BE(rows, 0);
  size.writeUInt16BE(columns, 2);
  socket.write(frame('w', size));
}

export async function attachContainer(container: Container, options: AttachOptions): Promise<AttachOutcome> {
  if (!isRunning(container)) {
    throw new DevboxError(`cannot attach to container ${container.config.name}: it is not running`, {
      fix: `start it attached: devbox start -a${container.config.interactive ? 'i' : ''} ${container.config.name}`,
    });
  }
  const terminal = container.config.process.terminal;
  const input = options.stdin && container.config.interactive;
  const socket = await connectSupervisor(container);
  const stdin = process.stdin;
  const raw = input && terminal && stdin.isTTY;
  const cleanups: (() => void)[] = [];
  return new Promise<AttachOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: AttachOutcome) => {
      if (settled) return;
      settled = true;
      for (const cleanup of cleanups) cleanup();
      socket.end(); // the input written so far still reaches the command
      resolve(outcome);
    };
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) =>
      reader.push(chunk, (kind, data) => {
        if (kind === 'o') process.stdout.write(data);
        else if (kind === 'E') process.stderr.write(data);
        else if (kind === 'x') finish({ exited: data.readUInt32BE(0) });
      }),
    );
    // The supervisor hung up without a status (killed): the status it recorded, if any.
    socket.once('close', () => finish({ exited: currentState(readState(container.dir)).exitCode }));
    socket.once('error', () => socket.destroy());
    socket.write(frame('a', Buffer.from([(input ? 1 : 0) | 2])));
    if (input) {
      const filter = new DetachKeyFilter(options.detachKeys);
      if (raw) {
        stdin.setRawMode(true);
        cleanups.push(() => stdin.setRawMode(false));
      }
      const onData = (chunk: Buffer) => {
        const { pass, detach } = filter.push(chunk);
        if (pass.length) socket.write(frame('i', pass));
        if (detach) finish({ detached: true });
      };
      const onEnd = () => socket.write(frame('e'));
      stdin.on('data', onData);
      stdin.once('end', onEnd);
      cleanups.push(() => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.pause();
      });
    }
    if (terminal && process.stdout.isTTY) {
      resize(socket);
      const onResize = () => resize(socket);
      process.stdout.on('resize', onResize);
      cleanups.push(() => process.stdout.off('resize', onResize));
    }
    if (options.sigProxy && !terminal) {
      for (const signal of PROXIED) {
        const forward = () => socket.write(frame('k', u32(signalNumber(signal))));
        process.on(signal, forward);
        cleanups.push(() => process.off(signal, forward));
      }
    }
  });
}
