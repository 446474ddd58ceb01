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

/** The test running now (uvu runs one at a time), and what of it has failed. */
let current = { name: '', bodyFailed: false, afterEachFailed: false };

/**
 * uvu runs the after-each hooks again when a test fails, and a hook that throws there ends the whole suite,
 * silently. So a failing after-each hook fails its own test (once), and is only reported when the test has
 * failed already (its body, or a before-each hook, so that its body never ran): the suite's other tests run.
 */
function afterEach(fn: Callback): Callback {
  return async (context) => {
    try {
      await fn(context);
    } catch (error) {
      if (current.name !== context.__test__ || current.bodyFailed || current.afterEachFailed) {
        console.error(`the after-each hook of "${context.__test__}" failed too: ${(error as Error)?.stack ?? String(error)}`);
        return;
      }
      current.afterEachFailed = true;
      throw error;
    }
  };
}

function hook(register: Test['before']): Test['before'] {
  const timedHook = (fn: Callback) => register(said(timed('a hook', fn)));
  timedHook.each = (fn: Callback) => register.each(said(timed('a hook', fn)));
  return timedHook;
}

function afterHook(register: Test['after']): Test['after'] {
  const timedHook = (fn: Callback) => register(said(timed('a hook', fn)));
  timedHook.each = (fn: Callback) => register.each(afterEach(timed('an after-each hook', fn)));
  return timedHook;
}

/** The test's body, remembered as failed when it throws (see afterEach). */
function body(name: string, fn: Callback): Callback {
  const run = timed(`"${name}"`, fn);
  return async (context) => {
    current = { name: context.__test__, bodyFailed: false, afterEachFailed: false };
    try {
      await run(context);
    } catch (error) {
      current.bodyFailed = true;
      throw error;
    }
  };
}

/**
 * uvu runs a file's tests at its `test.run()`: one registered after it in the same file runs with the next
 * file's tests, or never when the file is run alone or last. Set from `test.run()` to the end of the file's
 * evaluation (the next file is imported after a microtask).
 */
let justRan = false;

function registered(name: string): string {
  if (justRan) throw new Error(`test "${name}" comes after test.run(), so uvu does not run it with its file: move test.run() to the end of the file`);
  return name;
}

export const test: Test = Object.assign((name: string, fn: Callback) => uvuTest(registered(name), body(name, fn)), {
  only: (name: string, fn: Callback) => uvuTest.only(registered(name), body(name, fn)),
  skip: uvuTest.skip,
  before: hook(uvuTest.before),
  after: afterHook(uvuTest.after),
  run: () => {
    justRan = true;
    queueMicrotask(() => {
      justRan = false;
    });
    uvuTest.run();
  },
});
