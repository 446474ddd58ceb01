/**
 * The store's user namespace owner (src/network/owner.ts, native/keeper.c), for real: a rootless container
 * with subordinate ids is made inside the owner's user namespace, its map written by the helper (no setuid
 * tools per start); the owner is the helper's keep-namespace mode, stays for later starts, goes when its state
 * file does (its store removed), and one killed is replaced by the next start while the containers made in its
 * namespace keep running. As root, or as a user without subordinate ids, the helper writes the map itself and
 * no container is made in the owner's namespace: the assertions follow the caller.
 */
import * as assert from 'uvu/assert';
import { readFileSync, readlinkSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { DEVBOX_BIN, devbox, devboxOk } from '../helpers/cli.js';
import { importBusybox } from '../helpers/images.js';
import { eventually } from '../helpers/network.js';
import { inHostIds, liveStoreOwner, ownerStateFile, type StoreOwner } from '../helpers/owner.js';
import { test } from '../helpers/test.js';
import { resolveIdMapping } from '../../src/userns/idmap.js';
import { isRunning } from '../../src/util/processes.js';

const IMAGE = 'owner-busybox:latest';
const { mapping } = resolveIdMapping();
const nested = process.getuid!() !== 0 && mapping.full;
const started: string[] = [];

/** uid_map as read inside a new container, as "inside:outside:count" entries. */
async function mapInside(): Promise<string[]> {
  const out = await devboxOk(['run', '--rm', IMAGE, 'cat', '/proc/self/uid_map']);
  return out.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).join(':'));
}

const gone = (owner: StoreOwner) => () => (isRunning(owner) ? undefined : true);
const hostMap = mapping.uidMap.map((e) => `${e.inside}:${e.outside}:${e.count}`);

test.before(async () => {
  await importBusybox(IMAGE);
});

test.after(async () => {
  for (const name of started) await devbox(['rm', '-f', name]);
});

test('a rootless container is made in the owner’s namespace: the keeper, which stays for the next start', async () => {
  const map = await mapInside();
  if (!nested) {
    // The map devbox writes for the container, read in the host's ids.
    assert.equal(map, hostMap);
    return;
  }
  const owner = liveStoreOwner();
  assert.ok(owner, 'a rootless start with subordinate ids runs the owner');
  const cmdline = readFileSync(`/proc/${owner!.pid}/cmdline`, 'utf8').split('\0');
  assert.is(cmdline[1], 'keep-namespace', cmdline.join(' '));
  // It outlives the command that started it, with nothing of its environment (tokens) or folder.
  const helper = Number(readFileSync(`/proc/${owner!.pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  for (const pid of [owner!.pid, helper]) {
    assert.equal(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean), [`PATH=${process.env.PATH}`], String(pid));
    assert.is(readlinkSync(`/proc/${pid}/cwd`), '/', String(pid));
  }
  // Said in the owner's ids inside (its root is the owner's root), and so the user's map on the host.
  assert.is(map[0], '0:0:1', map.join(' '));
  assert.equal(inHostIds(map, owner!.idMapping.uidMap), hostMap);
  await mapInside();
  assert.equal(liveStoreOwner(), owner, 'the next start uses the same owner');
});

test('the owner goes when its state file is removed (its store deleted); the next start starts another', async () => {
  if (!nested) return assert.equal(await mapInside(), hostMap);
  await mapInside();
  const owner = liveStoreOwner()!;
  rmSync(ownerStateFile());
  await eventually('the owner to go', gone(owner), 10000);
  await mapInside();
  const next = liveStoreOwner();
  assert.ok(next && next.pid !== owner.pid, JSON.stringify(next));
});

test('an owner keeps nothing its starter inherited: a pipe the caller of devbox waits on ends with devbox', async () => {
  const before = liveStoreOwner();
  if (before) {
    rmSync(ownerStateFile());
    await eventually('the owner to go', gone(before), 10000);
  }
  // fd 40 of devbox: the write end of a socket whose reader waits for its end, as a script's $(…) or a CI step
  // does (one this high: the low ones devbox inherits do not reach what its Node.js spawns).
  const EXTRA_FD = 40;
  const stdio: ('ignore' | 'pipe')[] = ['ignore', 'ignore', 'pipe', ...Array<'ignore'>(EXTRA_FD - 3).fill('ignore'), 'pipe'];
  const child = spawn(process.execPath, [DEVBOX_BIN, 'run', '--rm', IMAGE, 'true'], { stdio });
  const ended = new Promise<void>((resolve) => (child.stdio as unknown as Readable[])[EXTRA_FD]!.on('data', () => {}).once('close', () => resolve()));
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.is(status, 0, stderr);
  await ended;
  if (nested) assert.ok(liveStoreOwner(), 'the run started an owner');
});

test('an owner killed is replaced by the next start; a container made in its namespace keeps running', async () => {
  if (!nested) return assert.equal(await mapInside(), hostMap);
  await devboxOk(['run', '-d', '--name', 'owner-kept', IMAGE, 'sleep', '300']);
  started.push('owner-kept');
  const owner = liveStoreOwner()!;
  process.kill(owner.pid, 'SIGKILL');
  await eventually('the owner to go', gone(owner), 10000);
  assert.is((await devboxOk(['exec', 'owner-kept', 'echo', 'still-here'])).stdout, 'still-here\n');
  assert.is((await mapInside())[0], '0:0:1');
  const next = liveStoreOwner();
  assert.ok(next && next.pid !== owner.pid, JSON.stringify(next));
  assert.is((await devboxOk(['exec', 'owner-kept', 'echo', 'still-here'])).stdout, 'still-here\n');
});

test.run();
