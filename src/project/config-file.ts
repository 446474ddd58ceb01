/**
 * A JSONC file (comments and trailing commas allowed, as in devcontainer.json and VS Code settings) read with
 * its syntax tree, so that every error can point at file:line:col.
 */
import { readFileSync } from 'node:fs';
import { getNodeValue, parseTree, printParseErrorCode, type JSONPath, type Node, type ParseError } from 'jsonc-parser';
import { DevboxError, describeError } from '../util/errors.js';

export interface ConfigFile {
  /** Absolute path, as shown in messages. */
  path: string;
  text: string;
  /** The syntax tree; undefined for an empty file. */
  tree: Node | undefined;
  /** The parsed value (comments dropped). */
  value: unknown;
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
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** "file:line:col" of an offset in a file. */
export function locate(file: Pick<ConfigFile, 'path' | 'text'>, offset: number): string {
  const { line, column } = lineAndColumn(file.text, offset);
  return `${file.path}:${line}:${column}`;
}

/** Parses JSONC text; a syntax error becomes a DevboxError at its file:line:col. */
export function parseConfigText(path: string, text: string): ConfigFile {
  if (text.trim() === '') return { path, text, tree: undefined, value: undefined };
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    const first = errors[0];
    const code = printParseErrorCode(first.error);
    throw new DevboxError(`${locate({ path, text }, first.offset)}: invalid JSON: ${PARSE_ERRORS[code] ?? code}`, {
      fix: 'fix the syntax at that position',
    });
  }
  return { path, text, tree, value: tree === undefined ? undefined : getNodeValue(tree) };
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
export function formatJsonPath(path: JSONPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** The node at a JSON path, or the nearest existing ancestor (for "missing key" errors). */
export function nodeAt(file: ConfigFile, path: JSONPath): Node | undefined {
  let node = file.tree;
  for (const segment of path) {
    if (!node) return undefined;
    let next: Node | undefined;
    if (node.type === 'object' && typeof segment === 'string') {
      next = node.children?.find((p) => p.children?.[0]?.value === segment)?.children?.[1];
    } else if (node.type === 'array' && typeof segment === 'number') {
      next = node.children?.[segment];
    }
    if (!next) return node;
    node = next;
  }
  return node;
}

/** An error about the value at `path` (or at `node`, when given): "file:line:col: "key" message". */
export function errorAt(file: ConfigFile, path: JSONPath, message: string, fix?: string, node = nodeAt(file, path)): DevboxError {
  const where = node ? locate(file, node.offset) : file.path;
  const key = path.length > 0 ? `"${formatJsonPath(path)}" ` : '';
  return new DevboxError(`${where}: ${key}${message}`, { fix });
}
