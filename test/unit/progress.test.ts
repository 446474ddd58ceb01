/** util/progress.ts: the lines a build or a pull prints in each mode, through one interface. */
import { mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { createProgress, progressFor, type ProgressMode } from '../../src/util/progress.js';

/** A stream that records what is written to it; `isTTY` as a terminal or a pipe. */
function capture(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  Object.assign(stream, { isTTY, columns: 120 });
  return { stream, text: () => text };
}

function exercise(mode: ProgressMode, isTTY: boolean): string {
  const out = capture(isTTY);
  const progress = createProgress(mode, out.stream);
  progress.note('Trying to pull localhost/a:1...');
  progress.step(1, 2, 'FROM a:1');
  const blob = progress.transfer('Copying blob', 'sha256:0123456789ab…', 2048);
  blob.advance(2048);
  blob.finish('done');
  progress.step(2, 2, 'RUN echo one\n  two');
  progress.cached();
  progress.stop();
  return out.text();
}

test('plain, and auto on a pipe: one line per step, transfer start and end, note; no colours', () => {
  for (const [mode, tty] of [
    ['plain', true],
    ['auto', false],
  ] as const) {
    const lines = exercise(mode, tty).split('\n');
    assert.is(lines[0], 'Trying to pull localhost/a:1...');
    assert.is(lines[1], 'STEP 1/2: FROM a:1');
    assert.is(lines[2], 'Copying blob sha256:0123456789ab… (2.05kB)');
    assert.match(lines[3], /^Copying blob sha256:0123456789ab… done \(\d+\.\ds\)$/);
    assert.is(lines[4], 'STEP 2/2: RUN echo one two');
    assert.is(lines[5], '--> Using cache');
    assert.not.match(lines.join('\n'), '\x1b[');
  }
});

test('auto on a terminal marks steps in colour and draws the transfer as a bar', () => {
  const text = exercise('auto', true);
  assert.match(text, '\x1b[1m\x1b[34mSTEP 1/2:\x1b[0m\x1b[1m FROM a:1');
  assert.match(text, /Copying blob sha256:0123456789ab… \[=+\] 2\.05kB \/ 2\.05kB .* done/);
});

test('quiet shows nothing, keeps a command output aside and shows it only for a failed step', () => {
  assert.is(exercise('quiet', true), '');
  const dir = mkdtempSync(join(tmpdir(), 'devbox-progress-'));
  try {
    const out = capture(false);
    const progress = createProgress('quiet', out.stream);
    for (const failed of [false, true]) {
      const output = progress.commandOutput(join(dir, `log-${failed}`));
      assert.ok(output.fd > 2);
      writeSync(output.fd, `output of a step that ${failed ? 'failed' : 'passed'}\n`);
      output.close(failed);
    }
    assert.is(out.text(), 'output of a step that failed\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a caller's progress is used as it is and left running; a mode gets a progress of the callee's own", () => {
  const mine = createProgress('quiet');
  assert.equal(progressFor(mine), { progress: mine, own: false });
  assert.ok(progressFor('plain').own);
  assert.ok(progressFor(undefined).own);
});

test.run();
