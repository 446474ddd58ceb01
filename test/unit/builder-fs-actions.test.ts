/**
 * builder/fs-actions.ts's StagingWriter on plain directories (no user namespace: the files keep this user's
 * ids): which files get their source's xattrs at the end of a step.
 */
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { type FsAction, StagingWriter } from '../../src/builder/fs-actions.js';
import type { FsOp } from '../../src/runtime/fsops.js';

/** A layer directory, an empty staging directory and scratch; every source file "has" the xattr user.test=1. */
function setup() {
  const root = mkdtempSync(join(tmpdir(), 'devbox-fs-actions-'));
  const layer = join(root, 'layer');
  mkdirSync(join(layer, 'a'), { recursive: true });
  mkdirSync(join(layer, 'b'), { recursive: true });
  writeFileSync(join(layer, 'a', 'f'), 'file');
  symlinkSync('/elsewhere', join(layer, 'b', 'f'));
  writeFileSync(join(layer, 'a', 'g'), 'file');
  for (const dir of ['staging', 'scratch']) mkdirSync(join(root, dir));
  const ops: FsOp[] = [];
  const writer = new StagingWriter(
    [layer],
    join(root, 'staging'),
    join(root, 'scratch'),
    async (batch) => {
      ops.push(...batch);
    },
    async (paths) => new Map(paths.map((p) => [p, [{ name: 'user.test', value: Buffer.from('1') }]])),
    // Only an ADD of an archive would use the map: none here.
    { uidMap: [], gidMap: [], uid: 0, gid: 0, full: false },
  );
  return { root, writer, ops, staging: join(root, 'staging') };
}

/** COPY --from a layer; --chown to this user's own ids, which an unprivileged test can give its files. */
const copy = (layer: string, sources: string[], mode?: number): FsAction => ({
  kind: 'copy',
  sourceLayers: [layer],
  sources,
  dest: '/d/',
  owner: { uid: process.getuid!(), gid: process.getgid!() },
  keepOwner: true,
  multiple: sources.length > 1,
  linkable: true,
  mode,
});

test("a file copied from a layer gets its source's xattrs; one that a later source of the step replaced does not lend them to what replaced it", async () => {
  const { root, writer, ops, staging } = setup();
  try {
    // --chmod makes the files copies: their xattrs are set at the end.
    await writer.apply(copy(join(root, 'layer'), ['a', 'b'], 0o700)); // two trees: b/f lands on a/f
    await writer.finish();
    assert.ok(lstatSync(join(staging, 'd', 'f')).isSymbolicLink(), 'b/f replaced a/f');
    assert.equal(
      ops.filter((op) => op.op === 'xattr').map((op) => op.path),
      [join(staging, 'd', 'g')],
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
