/**
 * Talking to a running container's supervisor through DIR/attach (native/attach.c): frames of a kind byte, a
 * big-endian u32 length and data. `stop` and `kill` are requests it carries out (so it knows the restart
 * policy is set aside); waiting for the end watches state.json and the supervisor's pid.
 */
import { closeSync, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { DevboxError } from '../util/errors.js';
import { net } from '../util/lazy-builtins.js';
import { startTimeOf } from '../util/processes.js';
import { signalNumber } from '../util/signals.js';
import { type Container, currentState, isRunning } from './lookup.js';
import { ATTACH_SOCKET, readState, type ContainerState } from './records.js';

export function frame(kind: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(kind, 0, 'latin1');
  head.writeUInt32BE(data.length, 1);
  return Buffer.concat([head, data]);
}

export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

/** Splits a byte stream into frames as they complete. */
export class FrameReader {
  private buffered = Buffer.alloc(0);

  push(chunk: Buffer, onFrame: (kind: string, data: Buffer) => void): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 5) {
      const len = this.buffered.readUInt32BE(1);
      if (this.buffered.length < 5 + len) return;
      const kind = this.buffered.toString('latin1', 0, 1);
      const data = this.buffered.subarray(5, 5 + len);
      this.buffered = this.buffered.subarray(5 + len);
      onFrame(kind, data);
    }
  }
}

/** The supervisor's socket. Through /proc/self/fd: a store path may be longer than a socket path can be (108 bytes). */
export function connectSupervisor(container: Pick<Container, 'dir' | 'config'>): Promise<Socket> {
  const dirFd = openSync(container.dir, 'r');
  return new Promise((resolve, reject) => {
    const socket = net().connect(join(`/proc/self/fd/${dirFd}`, ATTACH_SOCKET));
    const failed = (error: Error) => {
      closeSync(dirFd);
      reject(new DevboxError(`cannot reach the supervisor of container ${container.config.name}: ${error.message}`, { cause: error }));
    };
    socket.once('error', failed);
    socket.once('connect', () => {
      // Only this connect needed the directory's fd; later errors (the supervisor ending) are the caller's.
      socket.off('error', failed);
      closeSync(dirFd);
      resolve(socket);
    });
  });
}

/** Sends a stop or kill request; resolves with the supervisor's answer (0, or an errno: ESRCH when not running). */
export async function requestSignal(container: Container, signal: string, stop: boolean): Promise<number> {
  const socket = await connectSupervisor(container);
  return new Promise((resolve) => {
    const reader = new FrameReader();
    const done = (code: number) => {
      socket.destroy();
      resolve(code);
    };
    socket.on('data', (chunk: Buffer) => reader.push(chunk, (kind, data) => kind === 'A' && done(data.readUInt32BE(0))));
    socket.once('close', () => done(-1));
    socket.once('error', () => done(-1));
    socket.write(frame(stop ? 's' : 'k', u32(signalNumber(signal))));
  });
}

/** The container's state once it is no longer running, or undefined when `timeoutMs` passed first. */
export async function waitForExit(container: Container, timeoutMs = Number.POSITIVE_INFINITY): Promise<ContainerState | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = currentState(readState(container.dir));
    if (!isRunning({ state })) return state;
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Signals the process if it is still the one recorded (by start time); it may be gone (ESRCH). */
function signalProcess(pid: number, start: string, signal: NodeJS.Signals): void {
  try {
    if (pid > 0 && startTimeOf(pid) === start) process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * docker stop: the stop signal, `timeoutSec` to end (-1: no limit), then SIGKILL. A supervisor that does not
 * answer is killed with pid 1 (the kernel ends the container with them). A stopped container is no error.
 */
export async function stopContainer(container: Container, timeoutSec: number, signal = container.config.stopSignal): Promise<void> {
  if (!isRunning(container)) return;
  const answer = await requestSignal(container, signal, true).catch(() => -1);
  const grace = answer === 0 ? (timeoutSec < 0 ? Number.POSITIVE_INFINITY : timeoutSec * 1000) : 0;
  if (await waitForExit(container, grace)) return;
  // A supervisor that took the stop may no longer answer because it is finishing (a --rm container's removal
  // and exit command): it is waited for all the same, not killed in the middle.
  if (answer === 0) {
    await requestSignal(container, 'KILL', true).catch(() => -1);
    if (await waitForExit(container, 5000)) return;
  }
  const state = container.state;
  signalProcess(state.supervisorPid, state.supervisorStart, 'SIGKILL');
  signalProcess(state.pid, state.pidStart, 'SIGKILL');
  await waitForExit(container, 5000);
}
