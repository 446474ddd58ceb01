/**
 * An event of the log in docker's shapes: the line of `docker events`, the object its --format templates see
 * (Go field names) and the JSON of `--format json` (the API's json tags).
 */
import type { ContainerEvent } from '../container/events.js';

/** Nanoseconds since the epoch as a decimal string: an RFC 3339 time with up to nine fraction digits. */
function timeNano(time: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!m) return `${Date.parse(time)}000000`;
  const seconds = BigInt(Date.parse(`${m[1]}${m[3]}`) / 1000);
  return String(seconds * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0')));
}

/** docker's event time: RFC 3339 in UTC with nine fraction digits. */
function rfc3339Nano(nano: string): string {
  const ms = Number(BigInt(nano) / 1_000_000n);
  return `${new Date(ms).toISOString().slice(0, 19)}.${nano.slice(-9)}Z`;
}

function attributes(event: ContainerEvent): Record<string, string> {
  const all: Record<string, string> = { ...event.attributes };
  if (event.image) all.image = event.image;
  if (event.name) all.name = event.name;
  return Object.fromEntries(Object.entries(all).sort(([a], [b]) => a.localeCompare(b)));
}

export interface EventItem {
  Status: string;
  ID: string;
  From: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  Scope: string;
  Time: number;
  TimeNano: string;
}

export function eventItem(event: ContainerEvent): EventItem {
  const nano = timeNano(event.time);
  return {
    Status: event.action,
    ID: event.id,
    From: event.image ?? '',
    Type: event.type,
    Action: event.action,
    Actor: { ID: event.id, Attributes: attributes(event) },
    Scope: 'local',
    Time: Number(BigInt(nano) / 1_000_000_000n),
    TimeNano: nano,
  };
}

/** `2024-05-01T10:00:00.123456789Z container start ID (image=busybox, name=web)`, as docker prints it. */
export function eventLine(item: EventItem): string {
  const attrs = Object.entries(item.Actor.Attributes).map(([k, v]) => `${k}=${v}`);
  return `${rfc3339Nano(item.TimeNano)} ${item.Type} ${item.Action} ${item.ID}${attrs.length ? ` (${attrs.join(', ')})` : ''}`;
}

/** docker's `--format json` line: the API's field names, timeNano a JSON number. */
export function eventJson(item: EventItem): string {
  const { Status, ID, From, Type, Action, Actor, Scope, Time, TimeNano } = item;
  const text = JSON.stringify({ status: Status, id: ID, from: From, Type, Action, Actor, scope: Scope, time: Time, timeNano: 0 });
  return text.replace(/"timeNano":0}$/, `"timeNano":${TimeNano}}`);
}
