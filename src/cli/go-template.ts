/**
 * The part of Go's text/template that docker's --format uses: {{.Field}} and {{.A.B}}, methods with string
 * arguments ({{.Label "k"}}), the functions json, index, join, upper, lower, title, len, println, and
 * {{if}}/{{else}}/{{range}}/{{end}}. "table …" and "json" are handled by the caller. A malformed template is
 * one usage error, as docker's "template parsing error".
 */
import { DevboxError } from '../util/errors.js';

type Node = { text: string } | { expr: string[] } | { cond: string[]; yes: Node[]; no: Node[] } | { range: string[]; body: Node[] };

function parseError(message: string): DevboxError {
  return new DevboxError(`template parsing error: ${message}`, { fix: 'see docker\'s --format syntax, e.g. --format "{{.Names}}"', kind: 'usage' });
}

/** Words of an action: identifiers, .fields and "strings". */
function words(action: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|[^\s"]+)/gy;
  let at = 0;
  for (let m = re.exec(action); m !== null; m = re.exec(action)) {
    out.push(m[1]);
    at = re.lastIndex;
  }
  if (action.slice(at).trim()) throw parseError(`unexpected "${action.slice(at).trim()}" in {{${action}}}`);
  return out;
}

export function parseTemplate(source: string): Node[] {
  const tokens = source.split(/(\{\{-?\s*[\s\S]*?\s*-?\}\})/);
  let i = 0;
  const block = (closers: string[]): { nodes: Node[]; closer: string } => {
    const nodes: Node[] = [];
    for (; i < tokens.length; i++) {
      const token = tokens[i];
      if (!token.startsWith('{{') || !token.endsWith('}}')) {
        if (token.includes('{{') || token.includes('}}')) throw parseError(`unclosed action in "${token}"`);
        if (token) nodes.push({ text: token });
        continue;
      }
      const action = token.replace(/^\{\{-?\s*|\s*-?\}\}$/g, '');
      const [head, ...rest] = words(action);
      if (head === undefined) throw parseError('missing value for command');
      if (head === 'end' || head === 'else') {
        if (!closers.includes(head)) throw parseError(`unexpected {{${head}}}`);
        return { nodes, closer: head };
      }
      if (head === 'if' || head === 'range') {
        if (!rest.length) throw parseError(`missing value for ${head}`);
        i++;
        const body = block(head === 'if' ? ['else', 'end'] : ['end']);
        let otherwise: Node[] = [];
        if (body.closer === 'else') {
          i++;
          otherwise = block(['end']).nodes;
        }
        nodes.push(head === 'if' ? { cond: rest, yes: body.nodes, no: otherwise } : { range: rest, body: body.nodes });
        continue;
      }
      nodes.push({ expr: [head, ...rest] });
    }
    if (closers.length) throw parseError('unexpected EOF: missing {{end}}');
    return { nodes, closer: '' };
  };
  return block([]).nodes;
}

function field(value: unknown, path: string, args: unknown[]): unknown {
  let current = value;
  for (const name of path.split('.').filter(Boolean)) {
    if (current === null || current === undefined) throw parseError(`can't evaluate field ${name} in an empty value`);
    const next = (current as Record<string, unknown>)[name];
    if (next === undefined && !(name in (current as object))) throw parseError(`can't evaluate field ${name}`);
    current = typeof next === 'function' ? (next as (...a: unknown[]) => unknown).call(current, ...args) : next;
  }
  return current;
}

function argument(word: string, dot: unknown): unknown {
  if (word.startsWith('"')) return JSON.parse(word);
  if (word === '.') return dot;
  if (word.startsWith('.')) return field(dot, word, []);
  if (/^-?\d+$/.test(word)) return Number(word);
  throw parseError(`function "${word}" not defined`);
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '<no value>';
  if (Array.isArray(value)) return `[${value.map(show).join(' ')}]`;
  if (typeof value === 'object')
    return `map[${Object.entries(value as object)
      .map(([k, v]) => `${k}:${show(v)}`)
      .join(' ')}]`;
  return String(value);
}

const FUNCTIONS: Record<string, (...args: unknown[]) => unknown> = {
  json: (v) => JSON.stringify(v ?? null),
  index: (v, k) => (v as Record<string, unknown>)?.[k as string],
  join: (v, sep) => (v as unknown[]).map(show).join(sep as string),
  upper: (v) => show(v).toUpperCase(),
  lower: (v) => show(v).toLowerCase(),
  title: (v) => show(v).replace(/\b\w/g, (c) => c.toUpperCase()),
  len: (v) => (Array.isArray(v) || typeof v === 'string' ? v.length : Object.keys(v as object).length),
  println: (...v) => `${v.map(show).join(' ')}\n`,
};

function evaluate(expr: string[], dot: unknown): unknown {
  const [head, ...rest] = expr;
  if (FUNCTIONS[head]) return FUNCTIONS[head](...rest.map((w) => argument(w, dot)));
  if (head.startsWith('.'))
    return field(
      dot,
      head,
      rest.map((w) => argument(w, dot)),
    );
  if (rest.length) throw parseError(`function "${head}" not defined`);
  return argument(head, dot);
}

function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

export function renderTemplate(nodes: Node[], dot: unknown): string {
  let out = '';
  for (const node of nodes) {
    if ('text' in node) out += node.text;
    else if ('expr' in node) out += show(evaluate(node.expr, dot));
    else if ('cond' in node) out += renderTemplate(truthy(evaluate(node.cond, dot)) ? node.yes : node.no, dot);
    else {
      const list = evaluate(node.range, dot);
      const items = Array.isArray(list) ? list : list && typeof list === 'object' ? Object.values(list) : [];
      for (const item of items) out += renderTemplate(node.body, item);
    }
  }
  return out;
}

/** Docker's --format: "json" (one JSON object per line), "table TEMPLATE" (with headers), or a template per item. */
export function formatItems<T extends object>(format: string, items: readonly T[], headers: Record<string, string>): string[] {
  if (format === 'json') return items.map((item) => JSON.stringify(item));
  // As docker's CLI: a literal \t or \n in the format (as a shell passes "\t") is a tab or a newline.
  format = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const table = format.startsWith('table');
  const nodes = parseTemplate(table ? format.slice(5).trimStart() || '' : format);
  const lines = items.map((item) => renderTemplate(nodes, item));
  if (!table) return lines;
  // The header row: each action becomes the column name of the last field it names.
  const header = format
    .slice(5)
    .trimStart()
    .replace(/\{\{[^}]*?\.(\w+)[^.}]*\}\}/g, (_action, name: string) => headers[name] ?? name.toUpperCase());
  const rows = [header, ...lines].map((l) => l.split('\t'));
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + 3)))
      .join('')
      .trimEnd(),
  );
}
