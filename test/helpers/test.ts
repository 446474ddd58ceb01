/**
 * uvu's `test` with a time limit per test (and per hook): a hung sandbox, registry or child process fails the
 * test that waited for it, by name, and the run goes on to the next one. run-suites.sh puts a limit on the
 * whole run besides, for what a timed-out test leaves running. DEVBOX_TEST_TIMEOUT_MS changes the limit.
 */
import { test as uvuTest, type Callback, type Test } from 'uvu';

/**
 * Far above the slowest test: a Debian base image built with useradd took over 5 minutes on a machine shared by
 * five suite runs at once.
 */
const TEST_TIMEOUT_MS = Number(process.env.DEVBOX_TEST_TIMEOUT_MS) || 900_000;

function timed(what: string, fn: Callback): Callback {
  return async (context) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${TEST_TIMEOUT_MS / 1000} s`)), TEST_TIMEOUT_MS);
    });
    try {
      await Promise.race([fn(context), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** uvu ends a suite whose hook throws without saying why (it only counts its tests as not passed): say it here. */
function said(fn: Callback): Callback {
  return async (context) => {
    try {
      await fn(context);
    } catch (error) {
      console.error(`a hook failed, so the suite's remaining tests did not run: ${(error as Error)?.stack ?? String(error)}`);
      throw error;
    }
  };
}

function hook(register: Test['before']): Test['before'] {
  const timedHook = (fn: Callback) => register(said(timed('a hook', fn)));
  timedHook.each = (fn: Callback) => register.each(said(timed('a hook', fn)));
  return timedHook;
}

export const test: Test = Object.assign((name: string, fn: Callback) => uvuTest(name, timed(`"${name}"`, fn)), {
  only: (name: string, fn: Callback) => uvuTest.only(name, timed(`"${name}"`, fn)),
  skip: uvuTest.skip,
  before: hook(uvuTest.before),
  after: hook(uvuTest.after),
  run: uvuTest.run,
});
