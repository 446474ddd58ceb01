/** The Dockerfile parser and instruction checks, on the cases of BuildKit's parser tests. */
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { parseDockerfile, splitFlags, splitQuotedWords } from '../../src/builder/dockerfile.js';
import { InstructionError, parseBuildPlan, type InstructionOf } from '../../src/builder/instructions.js';

test('continuations join lines; comment and blank lines inside them are dropped; lines are counted', () => {
  const { nodes } = parseDockerfile('FROM x\n\n# c\nRUN echo a \\\n  # inner\n\n  && echo b\nCMD c\n');
  assert.equal(
    nodes.map((n) => [n.keyword, n.args, n.startLine, n.endLine]),
    [
      ['FROM', 'x', 1, 1],
      ['RUN', 'echo a   && echo b', 4, 7],
      ['CMD', 'c', 8, 8],
    ],
  );
});

test('an escaped escape character at the end of a line does not continue it', () => {
  const { nodes } = parseDockerfile('FROM x\nRUN echo a\\\\\nRUN b\n');
  assert.equal(
    nodes.map((n) => n.args),
    ['x', 'echo a\\\\', 'b'],
  );
});

test('parser directives: escape changes the continuation character; directives stop at the first other line', () => {
  const parsed = parseDockerfile('# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN a `\n b\n# escape=\\\n');
  assert.is(parsed.escape, '`');
  assert.equal(parsed.directives, { syntax: 'docker/dockerfile:1', escape: '`' });
  assert.is(parsed.nodes[1].args, 'a  b');
  assert.throws(() => parseDockerfile('# escape=x\nFROM a\n'), /invalid escape token/);
  assert.throws(() => parseDockerfile('# escape=`\n# escape=`\nFROM a\n'), /only one escape/);
});

test('JSON form: arrays of strings, with spaces kept; anything else is the shell form', () => {
  const { nodes } = parseDockerfile('FROM x\nRUN ["sh", "-c", "echo hi"]\nRUN [not json\nCMD ["a", 1]\n'.replace('CMD ["a", 1]\n', ''));
  assert.equal(nodes[1].json, ['sh', '-c', 'echo hi']);
  assert.is(nodes[2].json, undefined);
  assert.throws(() => parseDockerfile('FROM x\nCMD ["a", 1]\n'), /strings only/);
});

test('builder flags come before the arguments, quotes removed', () => {
  assert.equal(splitFlags('--chown=1:2 --from="my stage" a b', '\\'), { flags: ['chown=1:2', 'from=my stage'], rest: 'a b' });
  assert.equal(splitFlags('-- --not-a-flag x', '\\'), { flags: [], rest: '--not-a-flag x' });
});

test('heredocs: bodies, <<- strips tabs in the terminator, quoted markers do not expand, several per line', () => {
  const { nodes } = parseDockerfile('FROM x\nRUN <<EOF\necho $A\nEOF\nCOPY <<"ONE" <<-TWO /dst/\n1 $A\nONE\n\t2\n\tTWO\nCMD done\n');
  assert.equal(nodes[1].heredocs, [{ name: 'EOF', content: 'echo $A\n', expand: true, chomp: false }]);
  assert.equal(nodes[2].heredocs, [
    { name: 'ONE', content: '1 $A\n', expand: false, chomp: false },
    { name: 'TWO', content: '\t2\n', expand: true, chomp: true },
  ]);
  assert.is(nodes[3].keyword, 'CMD');
  assert.is(nodes[3].startLine, 10);
  assert.throws(() => parseDockerfile('FROM x\nRUN <<EOF\nnever ends\n'), /unterminated heredoc/);
});

test('ENV and LABEL words keep their quotes for expansion; the legacy form takes the rest of the line', () => {
  assert.equal(splitQuotedWords('A=1 B="two words" C=\'x y\'', '\\'), ['A=1', 'B="two words"', "C='x y'"]);
  const plan = parseBuildPlan('FROM x\nENV OLD value with spaces\nLABEL "a b"=c\n');
  assert.equal((plan.stages[0].instructions[0] as InstructionOf<'ENV'>).pairs, [['OLD', 'value with spaces']]);
  assert.equal((plan.stages[0].instructions[1] as InstructionOf<'LABEL'>).pairs, [['"a b"', 'c']]);
});

test('stages: meta ARGs before FROM, stage names lower-cased, instructions grouped', () => {
  const plan = parseBuildPlan('ARG BASE=x\nFROM $BASE AS Build\nRUN a\nFROM scratch\nCOPY --from=build /a /a\n');
  assert.is(plan.metaArgs.length, 1);
  assert.equal(
    plan.stages.map((s) => [s.index, s.name, s.instructions.length]),
    [
      [0, 'build', 1],
      [1, undefined, 1],
    ],
  );
  assert.is((plan.stages[1].instructions[0] as InstructionOf<'COPY'>).from, 'build');
});

function refused(text: string, message: RegExp, line: number) {
  try {
    parseBuildPlan(text);
  } catch (error) {
    assert.instance(error, InstructionError);
    assert.match((error as Error).message, message);
    assert.is((error as InstructionError).line, line);
    return;
  }
  assert.unreachable(`accepted: ${text}`);
}

test('bad input is refused with its line', () => {
  refused('FROM x\nFROOB y\n', /unknown instruction: FROOB/, 2);
  refused('FROM x\nCOPY --nope=1 a b\n', /unknown flag: --nope/, 2);
  refused('FROM x\nRUN --mount\n', /--mount needs a value/, 2);
  refused('FROM x\nCOPY onlyone\n', /at least two arguments/, 2);
  refused('RUN x\n', /first instruction must be FROM/, 1);
  refused('FROM x AS 1bad\n', /invalid name for build stage/, 1);
  refused('FROM x AS a\nFROM y AS a\n', /duplicate stage name/, 2);
  refused('FROM x\nSHELL /bin/bash -c\n', /JSON form/, 2);
  refused('FROM x\nONBUILD FROM y\n', /isn't allowed as an ONBUILD trigger/, 2);
  refused('FROM x\nHEALTHCHECK WHAT x\n', /unknown type/, 2);
  refused('FROM x\nENV A\n', /must have two arguments/, 2);
  refused('FROM x\nCOPY --checksum=sha256:00 a b\n', /unknown flag: --checksum/, 2);
  refused('FROM x\nRUN echo a\0b\n', /contains a NUL byte/, 2);
  refused('FROM x\nARG "x\n', /matching double-quote/, 2);
  refused('FROM x\nARG ""=1\n', /ARG names cannot be blank/, 2);
});

test('ARG names lose their quotes as BuildKit lexes them; variables in them are kept as written', () => {
  const plan = parseBuildPlan('FROM x\nARG "A"=1 \'B\' $C=2\n');
  assert.equal((plan.stages[0].instructions[0] as InstructionOf<'ARG'>).args, [{ name: 'A', value: '1' }, { name: 'B' }, { name: '$C', value: '2' }]);
});

test.run();
