/**
 * A JSONC file (comments and trailing commas allowed, as in devcontainer.json and VS Code settings), whose
 * errors point at file:line:col. Plain JSON is read with JSON.parse; jsonc-parser (12 ms to load, on the
 * path of every `devbox shell`) is loaded only for comments, syntax errors and error positions.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { JSONPath, Node, ParseError } from 'jsonc-parser';
import { DevboxError, describeError } from '../util/errors.js';

export interface ConfigFile {
  /** Absolute path, as shown in messages. */
  path: string;
  text: string;
  /** The parsed value (comments dropped); undefined for an empty file. */
  value: unknown;
}

type JsoncParser = typeof import('jsonc-parser');
let parser: JsoncParser | undefined;

/** jsonc-parser, loaded on first use (synchronously: it is a CommonJS module). */
function jsonc(): JsoncParser {
  parser ??= createRequire(import.meta.url)('jsonc-parser') as JsoncParser;
  return parser;
}

const trees = new WeakMap<ConfigFile, Node | undefined>();

/** The file's syntax tree, for positions; parsed once, on demand. */
function syntaxTree(file: ConfigFile): Node | undefined {
  if (!trees.has(file)) trees.set(file, jsonc().parseTree(file.text, [], { allowTrailingComma: true }));
  return trees.get(file);
}

/** Words for jsonc-parser's error codes, as a reader of the file would put them. */
const PARSE_ERRORS: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":"',
  CommaExpected: 'expected ","',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'unexpected text after the end of the JSON value',
  InvalidCommentToken: 'invalid comment',
  UnexpectedEndOfComment: 'comment not closed',
  UnexpectedEndOfString: 'string not closed',
  UnexpectedEndOfNumber: 'number not finished',
  InvalidUnicode: 'invalid \\u escape',
  InvalidEscapeCharacter: 'invalid escape sequence',
  InvalidCharacter: 'invalid character in a string (control characters must be escaped)',
};

/** 1-based line and column of an offset, counting columns in UTF-16 units as editors do. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** "file:line:col" of an offset in a file. */
function locate(file: Pick<ConfigFile, 'path' | 'text'>, offset: number): string {
  const { line, column } = lineAndColumn(file.text, offset);
  return `${file.path}:${line}:${column}`;
}

/** Deeper than any configuration needs; what is deeper would exhaust the stack of a recursive reader. */
const MAX_DEPTH = 64;

/** Offset of the first `{` or `[` nested deeper than MAX_DEPTH (strings and comments skipped), or -1. */
function tooDeep(text: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '/' && text[i + 1] === '/') {
      i = text.indexOf('\n', i) < 0 ? text.length : text.indexOf('\n', i);
    } else if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2) < 0 ? text.length : text.indexOf('*/', i + 2) + 1;
    } else if (c === '{' || c === '[') {
      if (++depth > MAX_DEPTH) return i;
    } else if (c === '}' || c === ']') depth--;
  }
  return -1;
}

/** Parses JSONC text; a syntax error becomes a DevboxError at its file:line:col. */
export function parseConfigText(path: string, text: string): ConfigFile {
  if (text.trim() === '') return { path, text, value: undefined };
  const deep = tooDeep(text);
  if (deep >= 0)
    throw new DevboxError(`${locate({ path, text }, deep)}: nested more than ${MAX_DEPTH} levels deep`, { fix: 'no devbox setting nests that deep' });
  try {
    return { path, text, value: JSON.parse(text) };
  } catch {
    // Comments, trailing commas or a real mistake: jsonc-parser tells which, and where.
  }
  const { parse, printParseErrorCode } = jsonc();
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    const code = printParseErrorCode(errors[0].error);
    throw new DevboxError(`${locate({ path, text }, errors[0].offset)}: invalid JSON: ${PARSE_ERRORS[code] ?? code}`, {
      fix: 'fix the syntax at that position',
    });
  }
  return { path, text, value };
}

export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DevboxError(`cannot read ${path}: ${describeError(error)}`, { cause: error });
  }
  return parseConfigText(path, text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}

/** How a JSON path reads in a message: build.args.FOO, mounts[2]. */
function formatJsonPath(path: JSONPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** The node at a JSON path (its key with `atKey`), or the nearest existing ancestor (for "missing key" errors). */
function nodeAt(file: ConfigFile, path: JSONPath, atKey = false): Node | undefined {
  let node = syntaxTree(file);
  for (const segment of path) {
    if (!node) return undefined;
    let next: Node | undefined;
    if (node.type === 'object' && typeof segment === 'string') {
      // The last property of that name: the one JSON.parse kept.
      const property = node.children?.filter((p) => p.children?.[0]?.value === segment).at(-1);
      next = atKey && segment === path.at(-1) ? property?.children?.[0] : property?.children?.[1];
    } else if (node.type === 'array' && typeof segment === 'number') {
      next = node.children?.[segment];
    }
    if (!next) return node;
    node = next;
  }
  return node;
}

/** An error about the value at `path` (or its key): "file:line:col: "key" message". */
export function errorAt(file: ConfigFile, path: JSONPath, message: string, fix?: string, atKey = false): DevboxError {
  const node = nodeAt(file, path, atKey);
  const where = node ? locate(file, node.offset) : file.path;
  const key = path.length > 0 ? `"${formatJsonPath(path)}" ` : '';
  return new DevboxError(`${where}: ${key}${message}`, { fix });
}
