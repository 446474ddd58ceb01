/**
 * The error a call ends with, for tests that check what was thrown. The check comes after the call, outside
 * any catch, so a call that does not throw fails the test instead of being caught as if it had.
 */
import * as assert from 'uvu/assert';

const NOTHING = Symbol('nothing thrown');

/** What `fn` throws; the test fails when it returns. */
export function thrownBy(fn: () => unknown, what = 'the call'): unknown {
  let thrown: unknown = NOTHING;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  if (thrown === NOTHING) assert.unreachable(`${what} did not throw`);
  return thrown;
}

/** What `fn` rejects with; the test fails when it resolves. */
export async function rejectionOf(fn: () => Promise<unknown>, what = 'the call'): Promise<unknown> {
  let thrown: unknown = NOTHING;
  try {
    await fn();
  } catch (error) {
    thrown = error;
  }
  if (thrown === NOTHING) assert.unreachable(`${what} succeeded`);
  return thrown;
}

/** A command that failed as devbox should: a non-zero status (`status` when given), one line on stderr matching `message`. */
export function assertOneLineFailure(result: { exitCode: number; stderr: string }, message: RegExp | string, status?: number): void {
  if (status === undefined) assert.ok(result.exitCode !== 0, `it failed (stderr: ${result.stderr})`);
  else assert.is(result.exitCode, status, `exit status (stderr: ${result.stderr})`);
  assert.is(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
  assert.match(result.stderr, message);
}
