/** Variable expansion in Dockerfile words, against what BuildKit's shell lexer produces. */
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { expandWord, expandWords, ExpansionError } from '../../src/builder/expand.js';

const env = new Map([
  ['A', 'alpha'],
  ['EMPTY', ''],
  ['PATH', '/usr/bin:/bin'],
  ['FILE', 'archive.tar.gz'],
  ['SPACED', 'one two'],
]);
const lookup = (name: string) => env.get(name);
const word = (text: string) => expandWord(text, lookup);

test('$VAR and ${VAR}, unset variables become empty', () => {
  assert.is(word('$A-${A}x'), 'alpha-alphax');
  assert.is(word('[$NOPE]'), '[]');
  assert.is(word('$'), '$');
  assert.is(word('a$'), 'a$');
});

test('${VAR:-x} and ${VAR-x}: the colon form treats empty as unset', () => {
  assert.is(word('${NOPE:-dflt}'), 'dflt');
  assert.is(word('${EMPTY:-dflt}'), 'dflt');
  assert.is(word('${EMPTY-dflt}'), '');
  assert.is(word('${A:-dflt}'), 'alpha');
  assert.is(word('${NOPE:-$A}'), 'alpha');
});

test('${VAR:+x} and ${VAR+x}', () => {
  assert.is(word('${A:+set}'), 'set');
  assert.is(word('${NOPE:+set}'), '');
  assert.is(word('${EMPTY:+set}'), '');
  assert.is(word('${EMPTY+set}'), 'set');
});

test('${VAR:?msg} fails with the message for unset or empty', () => {
  assert.throws(
    () => word('${NOPE:?must be set}'),
    (e: Error) => e instanceof ExpansionError && e.message === 'NOPE: must be set',
  );
  assert.throws(() => word('${EMPTY:?}'), /EMPTY: is not allowed to be empty/);
  assert.is(word('${EMPTY?}'), '');
});

test('prefix, suffix and substitution modifiers', () => {
  assert.is(word('${FILE#*.}'), 'tar.gz');
  assert.is(word('${FILE##*.}'), 'gz');
  assert.is(word('${FILE%.*}'), 'archive.tar');
  assert.is(word('${FILE%%.*}'), 'archive');
  assert.is(word('${PATH/bin/sbin}'), '/usr/sbin:/bin');
  assert.is(word('${PATH//bin/sbin}'), '/usr/sbin:/sbin');
});

test('quotes: single quotes are literal, double quotes expand, both are removed', () => {
  assert.is(word(`'$A' "$A" "a'b" 'a"b'`), `$A alpha a'b a"b`);
  assert.is(word('"\\$A \\" \\\\ \\n"'), '$A " \\ \\n');
  assert.is(word('\\$A'), '$A');
});

test('unterminated quotes and braces are errors', () => {
  assert.throws(() => word('"abc'), /matching double-quote/);
  assert.throws(() => word("'abc"), /matching single-quote/);
  assert.throws(() => word('${A'), /missing '}'/);
  assert.throws(() => word('${:-x}'), /bad substitution/);
});

test('words: expanded values split at whitespace, quoted ones do not', () => {
  assert.equal(expandWords('a $SPACED "$SPACED" b\\ c', lookup), ['a', 'one', 'two', 'one two', 'b c']);
});

test('a backtick escape character', () => {
  assert.is(expandWord('C:`$A`\\x', lookup, { escape: '`' }), 'C:$A\\x');
});

test('skipUnset keeps references to unset variables as written', () => {
  assert.is(expandWord('$NOPE ${NOPE:-x} $A', lookup, { skipUnset: true }), '$NOPE ${NOPE:-x} alpha');
});

test.run();
