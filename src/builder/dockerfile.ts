/**
 * Dockerfile text → instruction nodes, with the rules of BuildKit's parser (frontend/dockerfile/parser):
 * parser directives at the top (`# syntax=`, `# escape=`), comments, line continuations with the escape
 * character (comment and blank lines inside a continuation are dropped), builder flags (`--name=value`
 * before the arguments), the JSON form, and heredocs for RUN, COPY and ADD (`<<EOF`, `<<-EOF`, quoted
 * markers for no expansion). Hand-written: see docs/building.md for why the npm parsers did not fit.
 */
import { expandWords } from './expand.js';

export interface Heredoc {
  /** The marker word, which is also the file name a COPY heredoc gets. */
  name: string;
  content: string;
  /** False when the marker was quoted (`<<"EOF"`): the body is taken literally. */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from the body lines. */
  chomp: boolean;
}

export interface DockerfileNode {
  /** The instruction keyword, upper case as Docker reports it. */
  keyword: string;
  /** The instruction as written, continuations joined (for messages and history). */
  original: string;
  /** Builder flags (`--from=x` → `from=x`), quotes and escapes already removed. */
  flags: string[];
  /** The text after the keyword and the flags. */
  args: string;
  /** The arguments when given in JSON form (`["a", "b"]`). */
  json?: string[];
  heredocs: Heredoc[];
  /** 1-based lines where the instruction starts and ends. */
  startLine: number;
  endLine: number;
}

export interface ParsedDockerfile {
  /** The escape character: `\` or a backtick. */
  escape: string;
  /** Parser directives, by lower-case name. */
  directives: Record<string, string>;
  nodes: DockerfileNode[];
}

/** A parse error at a line of the Dockerfile. */
export class DockerfileSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);
/** Instructions whose arguments may be a JSON array (the rest take text). */
const JSON_KEYWORDS = new Set(['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'COPY', 'ADD', 'VOLUME', 'HEALTHCHECK']);
const DIRECTIVE = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const HEREDOC_WORD = /^(\d*)<<(-?)\s*([^<]*)$/;

function isComment(line: string): boolean {
  return line.trimStart().startsWith('#');
}

/** A JSON array of strings, or undefined when the text is not JSON; an array of anything else is an error. */
function parseJsonArray(text: string): string[] | undefined {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined; // Docker takes it as the shell form then
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) throw new Error('when using JSON array syntax, arrays must be comprised of strings only');
  return value as string[];
}

/** Leading `--name[=value]` words, as Docker's extractBuilderFlags reads them; a lone `--` ends them. */
export function splitFlags(text: string, escape: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
    if (!text.startsWith('--', pos)) return { flags, rest: text.slice(pos) };
    let word = '';
    let quote: string | undefined;
    let sawQuote = false;
    for (; pos < text.length; pos++) {
      const ch = text[pos];
      if (!quote && /\s/.test(ch)) break;
      if (!quote && (ch === '"' || ch === "'")) {
        quote = ch;
        sawQuote = true;
        continue;
      }
      if (quote && ch === quote) {
        quote = undefined;
        continue;
      }
      if (ch === escape && pos + 1 < text.length) {
        word += text[++pos];
        continue;
      }
      if (ch === escape) continue;
      word += ch;
    }
    if (word === '--') return { flags, rest: text.slice(pos).trimStart() };
    if (word || sawQuote) flags.push(word.slice(2));
  }
}

/** The heredocs an instruction line opens, in order (Docker's heredocsFromLine). */
function heredocMarkers(line: string): { name: string; expand: boolean; chomp: boolean }[] {
  let words: string[];
  try {
    words = expandWords(line, () => undefined, { rawQuotes: true, rawEscapes: true, skipUnset: true });
  } catch {
    return [];
  }
  const markers = [];
  for (const word of words) {
    const marker = parseHeredocMarker(word);
    if (marker) markers.push(marker);
  }
  return markers;
}

/** `<<EOF`, `<<-EOF`, `<<"EOF"` as a heredoc marker, or undefined for any other word. */
function parseHeredocMarker(word: string): { name: string; expand: boolean; chomp: boolean } | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m?.[3]) return undefined;
  const plain = expandWords(m[3], () => undefined, { skipUnset: true });
  if (plain.length !== 1) return undefined;
  const raw = expandWords(m[3], () => undefined, { skipUnset: true, rawQuotes: true });
  const quotes = (s: string) => (s.match(/['"]/g) ?? []).length;
  return { name: plain[0], expand: quotes(plain[0]) === quotes(raw[0]), chomp: m[2] === '-' };
}

class LineReader {
  private index = 0;
  constructor(private readonly lines: string[]) {}

  get lineNumber(): number {
    return this.index;
  }

  next(): string | undefined {
    return this.index < this.lines.length ? this.lines[this.index++] : undefined;
  }
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const directives: Record<string, string> = {};
  let escape = '\\';
  let directivesDone = false;
  let continuation = /(^|[^\\])\\[ \t]*$/;
  const setEscape = (value: string, line: number) => {
    if (value !== '\\' && value !== '`') throw new DockerfileSyntaxError(`invalid escape token '${value}' does not match \` or \\`, line);
    escape = value;
    // As Docker: the escape character ends a continued line unless it is itself escaped.
    continuation = new RegExp(`(^|[^\\${value}])\\${value}[ \\t]*$`);
  };
  /** A line ending in the escape character continues; returns the line without it. */
  const trimContinuation = (line: string): { text: string; continues: boolean } => {
    const m = continuation.exec(line);
    return m ? { text: line.slice(0, m.index) + m[1], continues: true } : { text: line, continues: false };
  };
  const reader = new LineReader(lines);
  const nodes: DockerfileNode[] = [];
  for (let raw = reader.next(); raw !== undefined; raw = reader.next()) {
    let line = raw.replace(/\r$/, '').trimStart();
    const startLine = reader.lineNumber;
    if (!directivesDone) {
      const m = line.startsWith('#') ? DIRECTIVE.exec(line.slice(1).trimStart()) : null;
      const name = m?.[1].toLowerCase();
      if (m && name && KNOWN_DIRECTIVES.has(name)) {
        if (name in directives) throw new DockerfileSyntaxError(`only one ${name} parser directive can be used`, startLine);
        directives[name] = m[2];
        if (name === 'escape') setEscape(m[2], startLine);
        continue;
      }
      directivesDone = true;
    }
    if (isComment(line)) continue;
    let { text: joined, continues } = trimContinuation(line);
    if (!continues && !joined.trim()) continue;
    while (continues) {
      const next = reader.next();
      if (next === undefined) break;
      line = next.replace(/\r$/, '');
      if (isComment(line) || !line.trim()) continue; // Docker drops these inside a continuation
      const part = trimContinuation(line);
      joined += part.text;
      continues = part.continues;
    }
    nodes.push(parseNode(joined, startLine, reader, escape));
  }
  if (!nodes.length) throw new DockerfileSyntaxError('file with no instructions', Math.max(1, reader.lineNumber));
  return { escape, directives, nodes };
}

function parseNode(line: string, startLine: number, reader: LineReader, escape: string): DockerfileNode {
  const trimmed = line.trim();
  const m = /^(\S+)\s*([\s\S]*)$/.exec(trimmed)!;
  const keyword = m[1].toUpperCase();
  const { flags, rest } = splitFlags(m[2], escape);
  const args = rest.trim();
  let json: string[] | undefined;
  if (JSON_KEYWORDS.has(keyword)) {
    try {
      json = parseJsonArray(keyword === 'HEALTHCHECK' ? args.replace(/^\S+\s*/, '') : args);
    } catch (error) {
      throw new DockerfileSyntaxError((error as Error).message, startLine);
    }
  }
  const heredocs: Heredoc[] = [];
  const heredocKeyword = keyword === 'ONBUILD' ? (/^(\S+)/.exec(args)?.[1] ?? '').toUpperCase() : keyword;
  if (HEREDOC_KEYWORDS.has(heredocKeyword) && !json && trimmed.includes('<<')) {
    for (const marker of heredocMarkers(trimmed)) {
      let content = '';
      let terminated = false;
      for (let body = reader.next(); body !== undefined; body = reader.next()) {
        const candidate = body.replace(/\r?$/, '');
        if ((marker.chomp ? candidate.replace(/^\t+/, '') : candidate) === marker.name) {
          terminated = true;
          break;
        }
        content += `${body}\n`;
      }
      if (!terminated) throw new DockerfileSyntaxError('unterminated heredoc', startLine);
      heredocs.push({ ...marker, content });
    }
  }
  return { keyword, original: trimmed, flags, args, json, heredocs, startLine, endLine: reader.lineNumber };
}

/**
 * Words of ENV/LABEL/ARG arguments: split at unquoted whitespace, quotes and escapes kept for the
 * expansion that follows (Docker's parseWords).
 */
export function splitQuotedWords(text: string, escape: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  const chars = [...text];
  for (let i = 0; i < chars.length; i++) {
    let ch = chars[i];
    if (!quote && /\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (!quote && (ch === '"' || ch === "'")) quote = ch;
    else if (quote && ch === quote) quote = undefined;
    if (ch === escape && quote !== "'") {
      if (i + 1 === chars.length) continue;
      word += ch;
      ch = chars[++i];
    }
    word += ch;
  }
  if (inWord) words.push(word);
  return words;
}
