/**
 * sandbox/images-in-use.ts: which images the store's containers and project sandboxes use, read from their
 * state files. A process counts as running only when its pid has the recorded start time (pids recycle).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { imagesInUse } from '../../src/sandbox/images-in-use.js';
import { startTimeOf } from '../../src/util/processes.js';

let root: string;

test.before.each(() => {
  root = mkdtempSync(join(tmpdir(), 'devbox-in-use-'));
});

test.after.each(() => {
  rmSync(root, { recursive: true, force: true });
});

function writeState(kind: 'containers' | 'sandboxes', id: string, state: object): void {
  mkdirSync(join(root, kind, id), { recursive: true });
  writeFileSync(join(root, kind, id, 'state.json'), JSON.stringify(state));
}

const me = { pid: process.pid, start: startTimeOf(process.pid)! };

function sandboxState(image: string, start: string): object {
  return { project: `/p/${image}`, name: image, image, pid: me.pid, outerPid: me.pid, pidStart: start, outerStart: start };
}

test('running: live pids with their start times; used: every container and sandbox kept, however it ended', () => {
  writeState('containers', 'c1', { id: 'c1', image: 'sha256:running', pid: me.pid, pidStart: me.start, created: '' });
  writeState('containers', 'c2', { id: 'c2', image: 'sha256:recycled', pid: me.pid, pidStart: `${me.start}0`, created: '' });
  writeState('containers', 'c3', { id: 'c3', image: 'sha256:exited', pid: me.pid, pidStart: me.start, created: '', exitCode: 0 });
  writeState('sandboxes', 's1', sandboxState('sha256:live-sandbox', me.start));
  writeState('sandboxes', 's2', sandboxState('sha256:stopped-sandbox', '1'));
  mkdirSync(join(root, 'containers', 'being-created'));
  const inUse = imagesInUse(root);
  assert.equal([...inUse.running].sort(), ['sha256:live-sandbox', 'sha256:running']);
  assert.equal([...inUse.used].sort(), ['sha256:exited', 'sha256:live-sandbox', 'sha256:recycled', 'sha256:running', 'sha256:stopped-sandbox']);
});

test('a store with no containers or sandboxes uses nothing', () => {
  assert.equal(imagesInUse(root), { used: new Set(), running: new Set() });
});

test.run();
