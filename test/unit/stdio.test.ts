/** util/stdio.ts: output written straight to descriptors 1 and 2 arrives whole, and a reader that left ends it. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';

const stdio = fileURLToPath(new URL('../../src/util/stdio.js', import.meta.url));

/** Runs `body` in a Node.js child that has writeStdout and writeStderr, through `sh -c` with `pipeline`. */
function child(body: string, pipeline = '') {
  const script = `import { writeStdout, writeStderr } from ${JSON.stringify(stdio)}; ${body}`;
  const command = `"$0" --input-type=module -e "$1" ${pipeline}`;
  return spawnSync('sh', ['-c', command, process.execPath, script], { encoding: 'utf8', maxBuffer: 1 << 26, timeout: 60_000 });
}

test('a text larger than a pipe holds arrives whole and in order, stdout and stderr each on its own', () => {
  const result = child("writeStdout('a'.repeat(1 << 20)); writeStdout('b\\n'); writeStderr('c\\n');");
  assert.is(result.status, 0, result.stderr);
  assert.is(result.stdout, `${'a'.repeat(1 << 20)}b\n`);
  assert.is(result.stderr, 'c\n');
});

test('once the reader has gone a write returns false, without an error, and so does every later one', () => {
  // The writes block until `true` has exited; then the pipe has no reader (EPIPE).
  const body = `
    let n = 0;
    while (writeStdout('x'.repeat(65536))) if (++n > 100000) process.exit(3);
    if (writeStdout('y')) process.exit(4);
    process.stderr.write('ended\\n');`;
  const result = child(body, '| true');
  assert.is(result.status, 0, result.stderr);
  assert.is(result.stderr, 'ended\n');
});

test.run();
