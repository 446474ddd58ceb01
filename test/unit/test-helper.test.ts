/**
 * test/helpers/test.ts: a failing after-each hook fails its own test and the suite's other tests still run
 * (uvu alone ends the whole suite silently when the hook throws again after a failed test).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';

const helper = fileURLToPath(new URL('../helpers/test.js', import.meta.url));

/** Runs a suite of three tests whose after-each hook throws for the ones named in `hookFails`. */
async function runSuite(bodyFails: string[], hookFails: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'devbox-test-helper-'));
  try {
    const suite = join(dir, 'suite.mjs');
    writeFileSync(
      suite,
      `import { test } from ${JSON.stringify(helper)};
const bodyFails = ${JSON.stringify(bodyFails)}, hookFails = ${JSON.stringify(hookFails)};
test.after.each((context) => { if (hookFails.includes(context.__test__)) throw new Error('hook of ' + context.__test__); });
for (const name of ['one', 'two', 'three']) test(name, () => { if (bodyFails.includes(name)) throw new Error('body of ' + name); console.log('ran ' + name); });
test.run();
`,
    );
    const result = await promisify(execFile)(process.execPath, [suite], { env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } }).catch((e) => e);
    return `${result.stdout}${result.stderr}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('an after-each hook that throws fails its test, once, and the next tests run', async () => {
  const out = await runSuite([], ['one']);
  assert.match(out, /\(2 \/ 3\)/);
  assert.match(out, /ran two/);
  assert.match(out, /ran three/);
  assert.match(out, /FAIL.*"one"[\s\S]*hook of one/);
});

test('a test whose body and after-each hook both throw fails with its body; the hook is reported; the next tests run', async () => {
  const out = await runSuite(['two'], ['two']);
  assert.match(out, /\(2 \/ 3\)/);
  assert.match(out, /ran three/);
  assert.match(out, /FAIL.*"two"[\s\S]*body of two/);
  assert.match(out, /the after-each hook of "two" failed too: Error: hook of two/);
});

test('a test registered after test.run() fails the suite, naming it (uvu would run it with another file, or never)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'devbox-test-helper-'));
  try {
    const suite = join(dir, 'suite.mjs');
    writeFileSync(suite, `import { test } from ${JSON.stringify(helper)};\ntest('first', () => {});\ntest.run();\ntest('late', () => {});\n`);
    const result = await promisify(execFile)(process.execPath, [suite]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    assert.ok(result, 'the suite failed');
    assert.match(result.stderr, 'test "late" comes after test.run(), so uvu does not run it with its file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
