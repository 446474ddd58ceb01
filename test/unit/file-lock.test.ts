/** Locks between devbox processes: held by one at a time, and a dead holder's lock taken over at once. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { withFileLock } from '../../src/util/file-lock.js';

const LOCK_MODULE = new URL('../../src/util/file-lock.js', import.meta.url).href;
let dir: string;

test.before.each(() => {
  dir = mkdtempSync(join(process.env.DEVBOX_TEST_TMP ?? tmpdir(), 'file-lock-'));
});

test.after.each(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Another process that takes the lock, says "held" and keeps it until its stdin ends. */
async function holder(lockPath: string): Promise<ChildProcess> {
  const script = `const { withFileLock } = await import(${JSON.stringify(LOCK_MODULE)});
await withFileLock(${JSON.stringify(lockPath)}, 'test', async () => {
  process.stdout.write('held\\n');
  for await (const _ of process.stdin);
});`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  return child;
}

/** Rejects if `promise` has not settled within `ms`: a lock that should be taken at once. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test('processes taking turns under the lock lose no update of a shared counter', async () => {
  const lock = join(dir, 'lock');
  const counter = join(dir, 'counter');
  writeFileSync(counter, '0');
  // Read, yield to the event loop and to the other processes, write: without the lock updates get lost.
  const script = `const { withFileLock } = await import(${JSON.stringify(LOCK_MODULE)});
const { readFile, writeFile } = await import('node:fs/promises');
for (let i = 0; i < 20; i++)
  await withFileLock(${JSON.stringify(lock)}, 'test', async () => {
    const n = Number(await readFile(${JSON.stringify(counter)}, 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 1));
    await writeFile(${JSON.stringify(counter)}, String(n + 1));
  });`;
  const children = [1, 2, 3].map(() => spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' }));
  const codes = await Promise.all(children.map(async (c) => (await once(c, 'exit'))[0]));
  assert.equal(codes, [0, 0, 0]);
  assert.is(readFileSync(counter, 'utf8'), '60');
});

test('the lock of a holder killed with SIGKILL is taken over at once', async () => {
  const lock = join(dir, 'lock');
  const child = await holder(lock);
  child.kill('SIGKILL');
  await once(child, 'exit');
  await within(
    withFileLock(lock, 'test', async () => {}),
    3000,
    'taking the dead holder’s lock',
  );
});

test('a directory lock of an older devbox is taken over once it is 10 s stale', async () => {
  const lock = join(dir, 'lock');
  mkdirSync(`${lock}.lock`);
  const old = new Date(Date.now() - 60_000);
  utimesSync(`${lock}.lock`, old, old);
  await within(
    withFileLock(lock, 'test', async () => {}),
    3000,
    'taking the stale directory lock',
  );
});

test('re-entrant within one call chain; concurrent chains of one process take turns', async () => {
  const lock = join(dir, 'lock');
  const events: string[] = [];
  await withFileLock(lock, 'test', () => withFileLock(lock, 'test', async () => events.push('nested')));
  await Promise.all(
    [1, 2, 3].map((i) =>
      withFileLock(lock, 'test', async () => {
        events.push(`in ${i}`);
        await new Promise((resolve) => setImmediate(resolve));
        events.push(`out ${i}`);
      }),
    ),
  );
  assert.is(events[0], 'nested');
  for (let i = 1; i < events.length; i += 2) assert.is(events[i].replace('in', 'out'), events[i + 1]);
});

test.run();
