/**
 * sandbox/images-in-use.ts: which images the store's containers and project sandboxes use, read from their
 * state files. A process counts as running only when its pid has the recorded start time (pids recycle).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { CREATED_STATE, type ContainerRecord, type ContainerState, writeRecord, writeState as writeContainerState } from '../../src/container/records.js';
import { imagesInUse } from '../../src/sandbox/images-in-use.js';
import { startTimeOf } from '../../src/util/processes.js';

let root: string;

test.before.each(() => {
  root = mkdtempSync(join(tmpdir(), 'devbox-in-use-'));
});

test.after.each(() => {
  rmSync(root, { recursive: true, force: true });
});

function writeSandboxState(id: string, state: object): void {
  mkdirSync(join(root, 'sandboxes', id), { recursive: true });
  writeFileSync(join(root, 'sandboxes', id, 'state.json'), JSON.stringify(state));
}

/** A container record with only what the in-use sets read: its image and its state. */
function writeContainer(id: string, image: string, state: Partial<ContainerState>): void {
  const dir = join(root, 'containers', id);
  mkdirSync(dir, { recursive: true });
  writeRecord(dir, { version: 1, id, name: id, created: '', image } as ContainerRecord);
  writeContainerState(dir, { ...CREATED_STATE, ...state });
}

const me = { pid: process.pid, start: startTimeOf(process.pid)! };

function sandboxState(image: string, start: string): object {
  return { project: `/p/${image}`, name: image, image, pid: me.pid, outerPid: me.pid, pidStart: start, outerStart: start };
}

test('running: live pids with their start times; used: every container and sandbox kept, however it ended', () => {
  const supervisedByMe = { status: 'running', pid: me.pid, pidStart: me.start, supervisorPid: me.pid } as const;
  writeContainer('c1', 'sha256:running', { ...supervisedByMe, supervisorStart: me.start });
  writeContainer('c2', 'sha256:recycled', { ...supervisedByMe, supervisorStart: `${me.start}0` });
  writeContainer('c3', 'sha256:exited', { status: 'exited', exitCode: 0 });
  writeContainer('c4', 'sha256:created', {});
  writeSandboxState('s1', sandboxState('sha256:live-sandbox', me.start));
  writeSandboxState('s2', sandboxState('sha256:stopped-sandbox', '1'));
  mkdirSync(join(root, 'containers', 'being-created'));
  const inUse = imagesInUse(root);
  assert.equal([...inUse.running].sort(), ['sha256:live-sandbox', 'sha256:running']);
  assert.equal([...inUse.used].sort(), [
    'sha256:created',
    'sha256:exited',
    'sha256:live-sandbox',
    'sha256:recycled',
    'sha256:running',
    'sha256:stopped-sandbox',
  ]);
});

test('a store with no containers or sandboxes uses nothing', () => {
  assert.equal(imagesInUse(root), { used: new Set(), running: new Set() });
});

test.run();
