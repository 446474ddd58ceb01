/**
 * The layer unpacker's cell (the helper's --confine) holding a Node.js program, as it held the unpack worker
 * before extraction moved into the helper (native/layer.c, which pivots into the same cell before it reads a
 * byte; test/integration/unpack-extractor.test.ts): once confined, a worker that
 * writes where an extractor bug would — an absolute host path, "../" climbing out, "/" — writes inside the
 * layer and nowhere else; it keeps no CAP_SYS_ADMIN; the helper makes its whiteouts inside; and a worker
 * that never asks to be confined fails.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { runNodeInUserNamespace } from '../../src/runtime/namespace.js';
import { resolveIdMapping } from '../../src/userns/idmap.js';
import { testDir } from '../helpers/images.js';
import { removeAsNamespaceRoot } from '../../src/storage/remove.js';

const { mapping } = resolveIdMapping();
const WRITER = new URL('../helpers/confined-writer.js', import.meta.url);
const CAP_SYS_ADMIN = 1n << 21n;

test('a confined worker writes inside its directory whatever path it names, with no CAP_SYS_ADMIN', async () => {
  const host = await testDir('host');
  const layer = await testDir('layer');
  const r = await runNodeInUserNamespace(mapping, WRITER, [host], { confine: layer });
  const report = JSON.parse(r.stdout) as { capabilities: string; writes: Record<string, string>; root: string[] };
  assert.equal(report.writes, { absolute: 'written', dotdot: 'written', root: 'written' });
  assert.equal(readdirSync(host), [], 'nothing reached the host directory');
  assert.is(lstatSync(join(layer, host, 'escaped-absolute')).isFile(), true);
  assert.is(lstatSync(join(layer, 'escaped-dotdot')).isFile(), true);
  assert.is(lstatSync(join(layer, 'escaped-root')).isFile(), true);
  assert.is(lstatSync(join(layer, 'whiteout')).isCharacterDevice(), true);
  // "/" seen from inside is the layer: what it made, nothing of the host's root.
  assert.equal(report.root, ['escaped-dotdot', 'escaped-root', 'whiteout', host.split('/')[1]].sort());
  assert.is(BigInt(`0x${report.capabilities}`) & CAP_SYS_ADMIN, 0n);
  await removeAsNamespaceRoot(mapping, [layer]);
});

test('a worker that never asks to be confined fails, and says so', async () => {
  const host = await testDir('host');
  const layer = await testDir('layer');
  const r = await runNodeInUserNamespace(mapping, WRITER, [host, '--forget-to-confine'], { confine: layer, allowFailure: true });
  assert.is(r.exitCode, 125);
  assert.match(r.stderr, /devbox-helper: --confine: .*node ended without asking to be confined/);
  await removeAsNamespaceRoot(mapping, [host, layer]);
});

test.run();
