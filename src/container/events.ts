/**
 * The store's event log, events.log: one JSON object per line, appended at create, start, die, stop, kill,
 * rename and destroy (docker's event names), for `devbox events` to read. Appends of a line are atomic with
 * O_APPEND, so devbox commands and supervisors write to it at once without a lock.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { warn } from '../util/warn.js';

export type ContainerAction = 'create' | 'start' | 'die' | 'stop' | 'kill' | 'restart' | 'rename' | 'destroy' | 'attach' | 'exec_start' | 'health_status';

export interface ContainerEvent {
  time: string;
  type: 'container';
  action: ContainerAction;
  id: string;
  name?: string;
  image?: string;
  /** Per action: the exit code (die), the signal (kill), the old name (rename), the health status. */
  attributes?: Record<string, string>;
}

export function eventsLog(storeRoot: string): string {
  return join(storeRoot, 'events.log');
}

export function appendEvent(storeRoot: string, event: Omit<ContainerEvent, 'time' | 'type'>): void {
  const line = `${JSON.stringify({ time: new Date().toISOString(), type: 'container', ...event })}\n`;
  try {
    appendFileSync(eventsLog(storeRoot), line, { mode: 0o600 });
  } catch (error) {
    // The event log is a record for `devbox events`; the container itself is fine without it.
    warn(`could not append to ${eventsLog(storeRoot)}: ${(error as Error).message}`);
  }
}
