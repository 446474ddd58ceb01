/**
 * The part of Go's text/template that `docker … --format` users write: fields (`{{.Name}}`, `{{.State.Status}}`,
 * map keys as fields, methods with arguments as `{{.Label "k"}}`), pipelines (`{{.Labels | json}}`), `if`/`else`/`end`, `range`, `with`, `{{- -}}` trimming,
 * string and number literals, Go's builtins (index, len, printf, print, println, eq, ne, lt, le, gt, ge, and, or,
 * not) and Docker's (json, join, split, lower, upper, title, truncate, pad). Values print as Go prints them:
 * `[a b]` for a list, `map[k:v]` for a map. `table …` (the column layout with a header row) is the caller's:
 * see `formatRows`. A template that does not parse is a usage error naming the place, as Docker's is.
 */
import { DevboxError } from './errors.js';

type Value = unknown;

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: Command[] }
  | { kind: 'if' | 'with'; pipeline: Command[]; body: Node[]; else: Node[] }
  | { kind: 'range'; pipeline: Command[]; body: Node[]; else: Node[] };

/** One command of a pipeline: a function and its arguments, or a single operand. */
type Command = Operand[];
type Operand =
  | { kind: 'field'; path: string[]; root: boolean } // .A.B, . itself with an empty path; $ and $.A from the top
  | { kind: 'literal'; value: Value }
  | { kind: 'call'; name: string }
  | { kind: 'paren'; pipeline: Command[] };

const FIX = 'see Go\'s text/template as docker\'s --format takes it, e.g. --format "{{.Names}}"';

/** A template that does not parse ("template parsing error", as Docker says) or cannot run on the data. */
export class TemplateError extends DevboxError {
  constructor(message: string, phase: 'parse' | 'execute' = 'parse') {
    super(phase === 'parse' ? `template parsing error: template: ${message}` : `template: ${message}`, { fix: FIX, kind: 'usage' });
  }
}

const FUNCTIONS: Record<string, (...args: Value[]) => Value> = {
  json: (v) => JSON.stringify(v ?? null),
  join: (list, sep) =>
    asList(list)
      .map(show)
      .join(String(sep ?? '')),
  split: (s, sep) => String(s).split(String(sep)),
  lower: (s) => String(s).toLowerCase(),
  upper: (s) => String(s).toUpperCase(),
  title: (s) => String(s).replace(/\b\w/g, (c) => c.toUpperCase()),
  truncate: (s, n) => String(s).slice(0, Number(n)),
  pad: (s, left, right) => `${' '.repeat(Number(left))}${show(s)}${' '.repeat(Number(right))}`,
  len: (v) => (typeof v === 'string' || Array.isArray(v) ? v.length : isMap(v) ? Object.keys(v).length : 0),
  index: (v, ...keys) => keys.reduce((acc: Value, k) => (Array.isArray(acc) ? acc[Number(k)] : isMap(acc) ? acc[String(k)] : undefined), v),
  print: (...args) => args.map(show).join(''),
  println: (...args) => `${args.map(show).join(' ')}\n`,
  printf: (format, ...args) => printf(String(format), args),
  eq: (a, ...rest) => rest.some((b) => a === b),
  ne: (a, b) => a !== b,
  lt: (a, b) => (a as number) < (b as number),
  le: (a, b) => (a as number) <= (b as number),
  gt: (a, b) => (a as number) > (b as number),
  ge: (a, b) => (a as number) >= (b as number),
  not: (v) => !truthy(v),
  and: (...args) => args.find((a) => !truthy(a)) ?? args[args.length - 1],
  or: (...args) => args.find((a) => truthy(a)) ?? args[args.length - 1],
};

function isMap(v: Value): v is Record<string, Value> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asList(v: Value): Value[] {
  return Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
}

function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return Boolean(v);
}

/** A value as Go's fmt %v prints it. */
export function show(v: Value): string {
  if (v === undefined || v === null) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  if (isMap(v))
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${show(v[k])}`)
      .join(' ')}]`;
  return String(v);
}

function printf(format: string, args: Value[]): string {
  let i = 0;
  return format.replace(/%([-+ 0#]*)(\d*)(?:\.(\d+))?([svdqtx%])/g, (_m, flags: string, width: string, precision: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    const arg = args[i++];
    let text =
      verb === 'q' ? JSON.stringify(String(arg)) : verb === 'd' ? String(Math.trunc(Number(arg))) : verb === 'x' ? Number(arg).toString(16) : show(arg);
    if (precision !== undefined && verb === 's') text = text.slice(0, Number(precision));
    const pad = Number(width || 0) - text.length;
    if (pad > 0) text = flags.includes('-') ? text + ' '.repeat(pad) : ' '.repeat(pad) + text;
    return text;
  });
}

/* Parsing. */

interface Token {
  text: string;
  at: number;
}

/** The words of an action: fields, strings, numbers, names, |, ( and ). */
function lexAction(source: string, offset: number): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:("(?:[^"\\]|\\.)*"|`[^`]*`)|(\$?\.[A-Za-z0-9_.]*|\$)|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\||\(|\)))/y;
  let pos = 0;
  while (pos < source.length) {
    if (!source.slice(pos).trim()) break;
    re.lastIndex = pos;
    const m = re.exec(source);
    if (!m) throw new TemplateError(`unexpected "${source.slice(pos).trim()[0]}" at column ${offset + pos + 1}`);
    tokens.push({ text: m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5], at: offset + pos });
    pos = re.lastIndex;
  }
  return tokens;
}

function parsePipeline(tokens: Token[], start: number, stop: string | undefined): { pipeline: Command[]; next: number } {
  const pipeline: Command[] = [];
  let command: Command = [];
  let i = start;
  for (; i < tokens.length; i++) {
    const { text, at } = tokens[i];
    if (text === stop) break;
    if (text === '|') {
      if (!command.length) throw new TemplateError(`missing command before "|" at column ${at + 1}`);
      pipeline.push(command);
      command = [];
    } else if (text === '(') {
      const inner = parsePipeline(tokens, i + 1, ')');
      if (inner.next >= tokens.length) throw new TemplateError(`unclosed "(" at column ${at + 1}`);
      command.push({ kind: 'paren', pipeline: inner.pipeline });
      i = inner.next;
    } else if (text === ')') throw new TemplateError(`unexpected ")" at column ${at + 1}`);
    else if (text.startsWith('"')) command.push({ kind: 'literal', value: JSON.parse(text) });
    else if (text.startsWith('`')) command.push({ kind: 'literal', value: text.slice(1, -1) });
    else if (/^-?\d/.test(text)) command.push({ kind: 'literal', value: Number(text) });
    else if (text === 'true' || text === 'false') command.push({ kind: 'literal', value: text === 'true' });
    else if (text === 'nil') command.push({ kind: 'literal', value: null });
    else if (text.startsWith('.') || text.startsWith('$'))
      command.push({ kind: 'field', path: text.replace(/^\$/, '').split('.').filter(Boolean), root: text.startsWith('$') });
    else if (text in FUNCTIONS) command.push({ kind: 'call', name: text });
    else throw new TemplateError(`function "${text}" not defined`);
  }
  if (!command.length) throw new TemplateError(stop ? 'empty ( )' : 'missing value for command');
  pipeline.push(command);
  return { pipeline, next: i };
}

interface Frame {
  nodes: Node[];
  block?: Extract<Node, { kind: 'if' | 'with' | 'range' }>;
  inElse: boolean;
}

export function parseTemplate(source: string): Node[] {
  const root: Frame = { nodes: [], inElse: false };
  const stack: Frame[] = [root];
  const re = /\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    let text = source.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1]) text = text.replace(/\s+$/, '');
    const frame = stack[stack.length - 1];
    if (text) frame.nodes.push({ kind: 'text', text });
    trimNext = Boolean(m[3]);
    last = re.lastIndex;
    const body = m[2].trim();
    const at = m.index + 2 + (m[1]?.length ?? 0);
    if (body.startsWith('/*')) continue; // a comment
    const keyword = /^(if|with|range|else|end)\b/.exec(body)?.[1];
    if (keyword === 'end') {
      if (stack.length === 1) throw new TemplateError(`unexpected {{end}} at column ${at + 1}`);
      stack.pop();
    } else if (keyword === 'else') {
      if (stack.length === 1 || frame.inElse) throw new TemplateError(`unexpected {{else}} at column ${at + 1}`);
      frame.inElse = true;
      frame.nodes = frame.block!.else;
    } else if (keyword) {
      const { pipeline } = parsePipeline(lexAction(body.slice(keyword.length), at + keyword.length), 0, undefined);
      const block: Extract<Node, { kind: 'if' | 'with' | 'range' }> =
        keyword === 'range' ? { kind: 'range', pipeline, body: [], else: [] } : { kind: keyword as 'if' | 'with', pipeline, body: [], else: [] };
      frame.nodes.push(block);
      stack.push({ nodes: block.body, block, inElse: false });
    } else {
      frame.nodes.push({ kind: 'action', pipeline: parsePipeline(lexAction(body, at), 0, undefined).pipeline });
    }
  }
  if (source.slice(last).includes('{{')) throw new TemplateError('unclosed action ("{{" without "}}")');
  if (stack.length > 1) throw new TemplateError(`unexpected EOF: {{${stack[stack.length - 1].block!.kind}}} has no {{end}}`);
  let tail = source.slice(last);
  if (trimNext) tail = tail.replace(/^\s+/, '');
  if (tail) root.nodes.push({ kind: 'text', text: tail });
  return root.nodes;
}

/* Execution. */

/** A field, or a method called with `args` when the last name is one (Docker's {{.Label "k"}}). */
function field(dot: Value, root: Value, operand: Extract<Operand, { kind: 'field' }>, args: Value[] = []): Value {
  let value = operand.root ? root : dot;
  for (const [i, name] of operand.path.entries()) {
    if (!isMap(value)) throw new TemplateError(`can't evaluate field ${name} in type ${Array.isArray(value) ? 'list' : typeof value}`, 'execute');
    if (!(name in value)) throw new TemplateError(`can't evaluate field ${name}`, 'execute');
    const next = value[name];
    const last = i === operand.path.length - 1;
    if (typeof next === 'function') value = (next as (...a: Value[]) => Value).call(value, ...(last ? args : []));
    else if (last && args.length) throw new TemplateError(`${name} is not a method but has arguments`, 'execute');
    else value = next;
  }
  return value;
}

function evaluate(pipeline: Command[], dot: Value, root: Value): Value {
  let previous: Value[] = [];
  for (const command of pipeline) {
    const values = (operand: Operand): Value => {
      if (operand.kind === 'literal') return operand.value;
      if (operand.kind === 'paren') return evaluate(operand.pipeline, dot, root);
      if (operand.kind === 'field') return field(dot, root, operand);
      return FUNCTIONS[operand.name]();
    };
    const [head, ...rest] = command;
    let result: Value;
    if (head.kind === 'call') result = FUNCTIONS[head.name](...rest.map(values), ...previous);
    else if (head.kind === 'field' && (rest.length || previous.length)) result = field(dot, root, head, [...rest.map(values), ...previous]);
    else {
      if (rest.length || previous.length) throw new TemplateError("can't give arguments to a non-function", 'execute');
      result = values(head);
    }
    previous = [result];
  }
  return previous[0];
}

function run(nodes: Node[], dot: Value, root: Value, out: string[]): void {
  for (const node of nodes) {
    switch (node.kind) {
      case 'text':
        out.push(node.text);
        break;
      case 'action':
        out.push(show(evaluate(node.pipeline, dot, root)));
        break;
      case 'if':
      case 'with': {
        const value = evaluate(node.pipeline, dot, root);
        if (truthy(value)) run(node.body, node.kind === 'with' ? value : dot, root, out);
        else run(node.else, dot, root, out);
        break;
      }
      case 'range': {
        const value = evaluate(node.pipeline, dot, root);
        const items = Array.isArray(value)
          ? value
          : isMap(value)
            ? Object.keys(value)
                .sort()
                .map((k) => value[k])
            : [];
        if (!items.length) run(node.else, dot, root, out);
        for (const item of items) run(node.body, item, root, out);
        break;
      }
    }
  }
}

/** Runs a parsed template with `data` as dot. */
export function execute(nodes: Node[], data: Value): string {
  const out: string[] = [];
  run(nodes, data, data, out);
  return out.join('');
}

/** Go's text/template on one value. */
export function renderTemplate(source: string, data: Value): string {
  return execute(parseTemplate(source), data);
}

/**
 * Docker's --format for a list: `json` (one JSON object a line), `table [TEMPLATE]` (aligned columns under a
 * header row; each action's header is the last field it names, as `headers` spells it, else upper-cased), or a
 * template per row. `defaultTable` is the template `table` alone stands for. As Docker's CLI, a literal \t or \n
 * in the format (as a shell passes "\t") is a tab or a newline. The template is parsed before any row is shown.
 */
export function formatRows(format: string, rows: readonly Value[], headers: Record<string, string>, defaultTable = ''): string[] {
  if (format === 'json') return rows.map((r) => JSON.stringify(r));
  const unescape = (text: string) => text.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  if (!format.startsWith('table')) {
    const nodes = parseTemplate(unescape(format));
    return rows.map((r) => execute(nodes, r));
  }
  const source = unescape(format.slice('table'.length).trim() || defaultTable);
  const nodes = parseTemplate(source);
  const header = source.replace(/\{\{[^}]*?\.(\w+)[^.}]*\}\}/g, (_action, name: string) => headers[name] ?? name.toUpperCase());
  const lines = [header, ...rows.map((r) => execute(nodes, r))].map((line) => line.split('\t'));
  const widths: number[] = [];
  for (const cells of lines) for (const [i, cell] of cells.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  return lines.map((cells) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] + 3)))
      .join('')
      .trimEnd(),
  );
}
