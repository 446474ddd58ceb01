/** Human output as docker prints it: aligned columns, "3 minutes ago", "4.2MB". */

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] + 3)))
      .join('')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function scaled(bytes: number, base: number, units: readonly string[]): string {
  let value = bytes;
  let unit = 0;
  while (value >= base && unit < units.length - 1) {
    value /= base;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)}${units[unit]}`;
}

/** Decimal units, as docker shows sizes and transfer amounts: 4.2MB. */
export function formatSize(bytes: number): string {
  return scaled(bytes, 1000, ['B', 'kB', 'MB', 'GB', 'TB']);
}

/** Binary units, as docker shows memory: 1.2MiB. */
export function formatMemory(bytes: number): string {
  return scaled(bytes, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB']);
}

export function formatAge(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(seconds)) return 'unknown';
  const steps: [number, string][] = [
    [60 * 60 * 24 * 365, 'year'],
    [60 * 60 * 24 * 30, 'month'],
    [60 * 60 * 24 * 7, 'week'],
    [60 * 60 * 24, 'day'],
    [60 * 60, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of steps) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${name}${n > 1 ? 's' : ''} ago`;
  }
  return 'Less than a minute ago';
}

/** A list written as words, one or more per line (long lists of names, kept readable by the formatter). */
export function words(text: string): string[] {
  return text.trim().split(/\s+/);
}

/** `text` cut to at most `max` characters (ending in "…"), for echoing user input back in a one-line message. */
export function abbreviate(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Orders strings by their UTF-16 code units, as Array.prototype.sort does by default and Go's sort.Strings does
 * by bytes. For names and ISO 8601 times, which it orders as expected; String.prototype.localeCompare would
 * start ICU's collator, which took ~19 ms of `devbox ps` once two containers were listed (2026-12-07).
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
