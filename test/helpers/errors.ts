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
