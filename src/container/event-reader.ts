/**
 * Reading the event log (events.ts) for `devbox events`: every line parsed, the container's name and image
 * filled in from earlier lines (the supervisor's start/die lines carry only the id), docker's filters, and
 * following the file as it grows: an inotify watch on the store directory, then a read of what was appended.
 */
import { closeSync, fstatSync, openSync, readSync, watch } from 'node:fs';
import { DevboxError } from '../util/errors.js';
import { type ContainerEvent, eventsLog } from './events.js';

const FILTER_KEYS = ['type', 'event', 'container', 'image'];

export interface EventQuery {
  /** Milliseconds since the epoch. */
  since?: number;
  until?: number;
  /** docker's --filter: several values of one key match any, different keys must all match. */
  filters: Map<string, string[]>;
}

export function parseEventFilters(specs: readonly string[]): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const key = spec.slice(0, eq);
    if (eq < 1 || !FILTER_KEYS.includes(key))
      throw new DevboxError(`invalid filter "${spec}"`, { fix: 'use type=, event=, container= or image=', kind: 'usage' });
    filters.set(key, [...(filters.get(key) ?? []), spec.slice(eq + 1)]);
  }
  return filters;
}

/** Milliseconds since the epoch of an event's time (RFC 3339 with up to nanoseconds). */
export function eventTime(event: ContainerEvent): number {
  return Date.parse(event.time);
}

function matches(event: ContainerEvent, filters: Map<string, string[]>): boolean {
  const test: Record<string, (v: string) => boolean> = {
    type: (v) => event.type === v,
    event: (v) => event.action === v,
    container: (v) => event.name === v || (v.length >= 1 && event.id.startsWith(v)),
    image: (v) => event.image === v || event.image === `${v}:latest` || event.image === `docker.io/library/${v}:latest`,
  };
  return [...filters].every(([key, values]) => values.some((v) => test[key](v)));
}

/** Parses lines of the log and fills in names and images; a torn or foreign line is skipped. */
class EventParser {
  private readonly known = new Map<string, { name?: string; image?: string }>();

  parse(text: string): ContainerEvent[] {
    const out: ContainerEvent[] = [];
    for (const line of text.split('\n')) {
      let event: ContainerEvent;
      try {
        event = JSON.parse(line);
      } catch {
        continue;
      }
      if (!event || typeof event.id !== 'string' || typeof event.action !== 'string' || Number.isNaN(eventTime(event))) continue;
      const seen = this.known.get(event.id) ?? {};
      const filled = { ...event, name: event.name ?? seen.name, image: event.image ?? seen.image };
      this.known.set(event.id, { name: filled.name, image: filled.image });
      out.push(filled);
    }
    return out;
  }
}

/**
 * Calls `emit` for each event of the query, in the order they were appended. With `follow`, keeps going with
 * the events appended later, until `until` passes or `signal` aborts; otherwise returns at the end of the log.
 */
export async function readEvents(
  storeRoot: string,
  query: EventQuery,
  emit: (event: ContainerEvent) => void,
  options: { follow: boolean; signal?: AbortSignal },
): Promise<void> {
  const path = eventsLog(storeRoot);
  const parser = new EventParser();
  let fd: number | undefined;
  let offset = 0;
  let pending = '';
  const buffer = Buffer.alloc(65536);
  const drain = () => {
    if (fd === undefined) {
      try {
        fd = openSync(path, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // no event yet
        throw new DevboxError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
      }
    }
    if (fstatSync(fd).size < offset) offset = 0; // truncated by hand: start over
    for (let n = readSync(fd, buffer, 0, buffer.length, offset); n > 0; n = readSync(fd, buffer, 0, buffer.length, offset)) {
      offset += n;
      pending += buffer.toString('utf8', 0, n);
    }
    const end = pending.lastIndexOf('\n');
    if (end < 0) return;
    for (const event of parser.parse(pending.slice(0, end))) {
      const time = eventTime(event);
      if (query.since !== undefined && time < query.since) continue;
      if (query.until !== undefined && time > query.until) continue;
      if (matches(event, query.filters)) emit(event);
    }
    pending = pending.slice(end + 1);
  };
  const stillFollowing = options.follow && (query.until === undefined || query.until > Date.now());
  if (!stillFollowing) {
    try {
      drain();
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return;
  }
  // The watch starts before the first read, so that nothing appended in between is missed.
  await new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const watcher = watch(storeRoot, (_kind, file) => {
      if (file !== null && file !== 'events.log') return;
      try {
        drain();
      } catch (error) {
        finish(error);
      }
    });
    const finish = (error?: unknown) => {
      watcher.close();
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', stop);
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      error ? reject(error) : resolve();
    };
    const stop = () => finish();
    watcher.on('error', finish);
    options.signal?.addEventListener('abort', stop);
    const until = query.until;
    // setTimeout holds at most 2^31-1 ms: a later --until is reached in several steps.
    const arm = (at: number) => {
      timer = setTimeout(
        () => {
          if (Date.now() < at) return arm(at);
          try {
            drain(); // what was appended up to the end
            finish();
          } catch (error) {
            finish(error);
          }
        },
        Math.min(at - Date.now(), 2 ** 31 - 1),
      );
    };
    if (until !== undefined) arm(until);
    try {
      drain();
    } catch (error) {
      finish(error);
    }
  });
}
