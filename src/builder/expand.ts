/**
 * Variable expansion in Dockerfile words, with the semantics of BuildKit's shell lexer
 * (frontend/dockerfile/shell/lex.go): `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`,
 * `${VAR+word}`, `${VAR:?msg}`, `${VAR#pat}`, `${VAR##pat}`, `${VAR%pat}`, `${VAR%%pat}`, `${VAR/pat/repl}`,
 * single and double quotes, and the escape character of the Dockerfile (`\` or a backtick).
 * No shell is run: this is only the expansion Docker itself does before an instruction runs.
 */

/** A variable's value, or undefined when it is not set. */
export type EnvLookup = (name: string) => string | undefined;

export interface LexOptions {
  /** The Dockerfile's escape character (`# escape=` directive). */
  escape?: string;
  /** Keep quote characters in the result (as Docker does when it only looks for heredoc markers). */
  rawQuotes?: boolean;
  /** Keep escape characters in the result. */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written instead of expanding them to "". */
  skipUnset?: boolean;
  /** Treat quotes as ordinary characters (heredoc bodies). */
  skipQuotes?: boolean;
}

export class ExpansionError extends Error {}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

function isSpace(ch: string): boolean {
  return /\s/.test(ch);
}

/** Words as the shell would split them: expanded text splits at whitespace, quoted text does not. */
class WordCollector {
  readonly words: string[] = [];
  private buf = '';
  private inWord = false;

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.buf) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
      return;
    }
    this.addRaw(ch);
  }

  addString(text: string): void {
    for (const ch of text) this.addChar(ch);
  }

  addRaw(text: string): void {
    this.buf += text;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.buf) this.words.push(this.buf);
    this.buf = '';
    return this.words;
  }
}

/**
 * A shell pattern (`*`, `?`, `\x`) as a regular expression, for the `#`, `%` and `/` modifiers.
 * `greedy` picks the longest match for `*`.
 */
function patternToRegex(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  let out = anchored ? '^' : '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') out += greedy ? '.*' : '.*?';
    else if (ch === '?') out += '.';
    else if (ch === '\\' && i + 1 < pattern.length) out += pattern[++i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else out += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(out, 's');
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = patternToRegex(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

function reverse(text: string): string {
  return [...text].reverse().join('');
}

/** `%`: the suffix is trimmed by matching the reversed pattern against the reversed value, as BuildKit does. */
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const chars = [...pattern];
  const reversed: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '\\' && i + 1 < chars.length) reversed.unshift(chars[i], chars[++i]);
    else reversed.unshift(chars[i]);
  }
  return reverse(trimPrefix(reversed.join(''), reverse(value), greedy));
}

class Lexer {
  private pos = 0;
  private readonly escape: string;

  constructor(
    private readonly text: string,
    private readonly env: EnvLookup,
    private readonly options: LexOptions,
    private rawEscapes = options.rawEscapes ?? false,
  ) {
    this.escape = options.escape ?? '\\';
  }

  private peek(): string | undefined {
    return this.pos < this.text.length ? this.text[this.pos] : undefined;
  }

  private next(): string | undefined {
    return this.pos < this.text.length ? this.text[this.pos++] : undefined;
  }

  /** Processes until `stop` (consumed) or the end; returns the single-word result and the split words. */
  process(stop?: string, rawEscapes = this.rawEscapes): { word: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const words = new WordCollector();
      for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
        if (stop !== undefined && ch === stop) {
          this.next();
          return { word: result, words: words.finish() };
        }
        if (ch === '$') {
          const value = this.dollar();
          result += value;
          words.addString(value);
        } else if (ch === '<') {
          const value = this.possibleHeredoc();
          result += value;
          words.addRaw(value);
        } else if ((ch === "'" || ch === '"') && !this.options.skipQuotes) {
          const value = ch === "'" ? this.singleQuoted() : this.doubleQuoted();
          result += value;
          words.addRaw(value);
        } else {
          this.next();
          if (ch === this.escape) {
            if (this.rawEscapes) {
              words.addRaw(ch);
              result += ch;
            }
            const escaped = this.next();
            if (escaped === undefined) break;
            words.addRaw(escaped);
            result += escaped;
          } else {
            words.addChar(ch);
            result += ch;
          }
        }
      }
      if (stop !== undefined) throw new ExpansionError(`unexpected end of statement while looking for matching ${stop}`);
      return { word: result, words: words.finish() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private singleQuoted(): string {
    let result = this.options.rawQuotes ? "'" : '';
    this.next();
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new ExpansionError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return this.options.rawQuotes ? `${result}'` : result;
      result += ch;
    }
  }

  private doubleQuoted(): string {
    let result = this.options.rawQuotes ? '"' : '';
    this.next();
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new ExpansionError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return this.options.rawQuotes ? `${result}"` : result;
      }
      if (ch === '$') {
        result += this.dollar();
        continue;
      }
      this.next();
      if (ch === this.escape) {
        if (this.rawEscapes) result += ch;
        const after = this.peek();
        if (after === undefined) continue;
        if (after === '"' || after === '$' || after === this.escape) {
          result += this.next();
          continue;
        }
      }
      result += ch;
    }
  }

  private name(): string {
    let name = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (!name && /[0-9]/.test(ch)) {
        while (this.peek() !== undefined && /[0-9]/.test(this.peek()!)) name += this.next();
        return name;
      }
      if (!name && SPECIAL_PARAMS.has(ch)) return this.next()!;
      if (!/[\p{L}\p{N}_]/u.test(ch)) break;
      name += this.next();
    }
    return name;
  }

  private dollar(): string {
    this.next(); // the $
    if (this.peek() !== '{') {
      const name = this.name();
      if (!name) return '$';
      const value = this.env(name);
      if (value === undefined && this.options.skipUnset) return `$${name}`;
      return value ?? '';
    }
    this.next(); // the {
    const first = this.peek();
    if (first === undefined) throw new ExpansionError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new ExpansionError('syntax error: bad substitution');
    const name = this.name();
    let op = this.next();
    if (op === undefined) throw new ExpansionError("syntax error: missing '}'");
    if (op === '}') {
      const value = this.env(name);
      if (value === undefined && this.options.skipUnset) return `\${${name}}`;
      return value ?? '';
    }
    if (op === '/') return this.substitute(name);
    let nullIsUnset = false;
    if (op === ':') {
      nullIsUnset = true;
      op = this.next();
      if (op === undefined) throw new ExpansionError("syntax error: missing '}'");
    }
    const modifier = nullIsUnset ? `:${op}` : op;
    if (!['+', '-', '?', '#', '%'].includes(op) || (nullIsUnset && (op === '#' || op === '%'))) {
      throw new ExpansionError(`unsupported modifier (${modifier}) in substitution`);
    }
    let word: string;
    try {
      word = this.process('}', op === '#' || op === '%').word;
    } catch (error) {
      if (this.peek() === undefined) throw new ExpansionError("syntax error: missing '}'");
      throw error;
    }
    const value = this.env(name);
    if (value === undefined && this.options.skipUnset) return `\${${name}${modifier}${word}}`;
    const unset = value === undefined || (nullIsUnset && value === '');
    switch (op) {
      case '-':
        return unset ? word : value!;
      case '+':
        return unset ? '' : word;
      case '?':
        if (value === undefined) throw new ExpansionError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (unset) throw new ExpansionError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      default: {
        const greedy = word.startsWith(op);
        const pattern = greedy ? word.slice(1) : word;
        return op === '#' ? trimPrefix(pattern, value ?? '', greedy) : trimSuffix(pattern, value ?? '', greedy);
      }
    }
  }

  /** `${VAR/pattern/replacement}` and `${VAR//pattern/replacement}`. */
  private substitute(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    const missing = (what: string) => (error: unknown) => {
      if (this.peek() === undefined) throw new ExpansionError(`syntax error: missing '${what}'${what === '/' ? ' in ${}' : ''}`);
      throw error;
    };
    let pattern = '';
    let replacement = '';
    try {
      pattern = this.process('/', true).word;
    } catch (error) {
      missing('/')(error);
    }
    try {
      replacement = this.process('}', true).word;
    } catch (error) {
      missing('}')(error);
    }
    const value = this.env(name);
    if (value === undefined && this.options.skipUnset) return `\${${name}/${pattern}/${replacement}}`;
    const re = patternToRegex(pattern, true, false);
    if (all) return (value ?? '').replace(new RegExp(re.source, 'gs'), () => replacement);
    return (value ?? '').replace(re, () => replacement);
  }

  /** `<<` stays as written, with any spaces after it, so heredoc markers survive word splitting. */
  private possibleHeredoc(): string {
    this.next();
    if (this.peek() !== '<') return '<';
    this.next();
    let spaces = '';
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === '\r') spaces += this.next();
    return `<<${spaces}`;
  }
}

/** One word with variables expanded and quotes removed (Docker's ProcessWord). */
export function expandWord(word: string, env: EnvLookup, options: LexOptions = {}): string {
  return new Lexer(word, env, options).process().word;
}

/** Text split into words the way the shell would, variables expanded (Docker's ProcessWords). */
export function expandWords(text: string, env: EnvLookup, options: LexOptions = {}): string[] {
  return new Lexer(text, env, options).process().words;
}
