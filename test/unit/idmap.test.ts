import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { formatIdMap, hostIdFor, idMappingFingerprint, keepIdMap, parseSubordinateRanges, resolveIdMapping, rootIsCallerMap } from '../../src/userns/idmap.js';

test('subordinate ranges are found by user name or uid, comments and malformed lines skipped', () => {
  const text = '# comment\nalice:100000:65536\nbob:200000:65536\n1001:300000:10\nalice:oops:1\n';
  assert.equal(parseSubordinateRanges(text, 'alice', 1000), [{ start: 100000, count: 65536 }]);
  assert.equal(parseSubordinateRanges(text, 'carol', 1001), [{ start: 300000, count: 10 }]);
  assert.equal(parseSubordinateRanges(text, 'dave', 1002), []);
});

test('keep-id maps the caller to itself and container root to the first subordinate id', () => {
  const map = keepIdMap(1000, [{ start: 100000, count: 65536 }]);
  assert.is(formatIdMap(map), '0:100000:1000,1000:1000:1,1001:101000:64536');
  assert.is(hostIdFor(map, 0), 100000);
  assert.is(hostIdFor(map, 1000), 1000);
  assert.is(hostIdFor(map, 2003), 102002); // podman troubleshooting #34's worked example
  assert.is(hostIdFor(map, 65536), 165535);
  assert.is(hostIdFor(map, 65537), undefined);
});

test('keep-id spreads container ids over several subordinate ranges in order', () => {
  const map = keepIdMap(5, [
    { start: 100, count: 3 },
    { start: 200, count: 4 },
  ]);
  assert.equal(
    map.map((e) => [e.inside, e.outside, e.count]),
    [
      [0, 100, 3],
      [3, 200, 2],
      [5, 5, 1],
      [6, 202, 2],
    ],
  );
});

test('keep-id with a caller uid beyond the range still maps the caller', () => {
  const map = keepIdMap(70000, [{ start: 100000, count: 65536 }]);
  assert.is(hostIdFor(map, 70000), 70000);
  assert.is(hostIdFor(map, 0), 100000);
  assert.is(hostIdFor(map, 65535), 165535);
});

test('without a subordinate range: a single-id map (root inside is the caller) and a warning with the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devbox-subid-'));
  try {
    writeFileSync(join(dir, 'subuid'), 'someone-else:100000:65536\n');
    writeFileSync(join(dir, 'subgid'), '');
    const { mapping, warning } = resolveIdMapping({ subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') });
    if (process.getuid!() === 0) {
      // root needs no subordinate ids: ids 0-65535 map to themselves
      assert.is(formatIdMap(mapping.uidMap), '0:0:65536');
      assert.is(warning, undefined);
      return;
    }
    assert.is(mapping.full, false);
    assert.is(formatIdMap(mapping.uidMap), `0:${process.getuid!()}:1`);
    assert.match(warning!, /no subordinate ids for .* in .*subuid and .*subgid: running with a single-id map/);
    // Past someone-else's range: the line suggested collides with no other user's.
    assert.match(warning!, /add ".*:165536:65536" to \/etc\/subuid and \/etc\/subgid/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('keep-id:uid=N puts the caller at N; the ids below N take the first subordinate ids', () => {
  const map = keepIdMap(1000, [{ start: 100000, count: 65536 }], 1234);
  assert.is(formatIdMap(map), '0:100000:1000,1000:1234:1,1001:101000:64536');
});

test('host: root is the caller, ids from 1 take the subordinate ranges in order', () => {
  const map = rootIsCallerMap(1234, [
    { start: 100000, count: 10 },
    { start: 200000, count: 5 },
  ]);
  assert.is(formatIdMap(map), '0:1234:1,1:100000:10,11:200000:5');
});

test('--userns modes from the subordinate files: default and host root is the caller, keep-id and project the keep-id layout; keep-id refused without ranges', () => {
  if (process.getuid!() === 0) return; // root: the identity map whatever the mode (the integration suite checks it)
  const dir = mkdtempSync(join(tmpdir(), 'devbox-subid-'));
  const { username } = userInfo();
  const [uid, gid] = [process.getuid!(), process.getgid!()];
  try {
    const files = { subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') };
    writeFileSync(files.subuid, `${username}:100000:65536\n`);
    writeFileSync(files.subgid, `${username}:100000:65536\n`);
    const host = resolveIdMapping(files, { mode: 'host' });
    assert.is(formatIdMap(host.mapping.uidMap), `0:${uid}:1,1:100000:65536`);
    assert.equal([host.mapping.uid, host.mapping.gid, host.mapping.full], [0, 0, true]);
    // A container's default is the same map: what root writes into a bind mount is the caller's.
    assert.equal(resolveIdMapping(files).mapping, host.mapping);
    // A project sandbox's: the caller as themselves, root the first subordinate id.
    const project = resolveIdMapping(files, { mode: 'project' });
    assert.equal([hostIdFor(project.mapping.uidMap, uid), hostIdFor(project.mapping.uidMap, 0)], [uid, 100000]);
    assert.equal([project.mapping.uid, project.mapping.gid, project.warning], [uid, gid, undefined]);
    const keep = resolveIdMapping(files, { mode: 'keep-id', uid: 42, gid: 43 });
    assert.is(hostIdFor(keep.mapping.uidMap, 42), uid);
    assert.is(hostIdFor(keep.mapping.gidMap, 43), gid);
    assert.equal([keep.mapping.uid, keep.mapping.gid], [42, 43]);
    writeFileSync(files.subgid, '');
    const single = resolveIdMapping(files, { mode: 'host' });
    assert.equal([formatIdMap(single.mapping.uidMap), single.mapping.full, single.warning], [`0:${uid}:1`, false, undefined]);
    // The default and the project map fall back to it too, saying so.
    for (const mode of ['default', 'project'] as const) {
      const fallback = resolveIdMapping(files, { mode });
      assert.equal([formatIdMap(fallback.mapping.uidMap), fallback.mapping.full], [`0:${uid}:1`, false], mode);
      assert.match(fallback.warning ?? '', /running with a single-id map/, mode);
    }
    assert.throws(() => resolveIdMapping(files, { mode: 'keep-id' }), /--userns=keep-id needs subordinate ids/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a mapping's fingerprint is the first 12 hex digits of the SHA-256 of its maps, so stores keep their layer folders", () => {
  const map = keepIdMap(1000, [{ start: 100000, count: 65536 }]);
  const other = rootIsCallerMap(1000, [{ start: 100000, count: 65536 }]);
  const text = `${formatIdMap(map)};${formatIdMap(other)}`;
  assert.is(idMappingFingerprint({ uidMap: map, gidMap: other, uid: 0, gid: 0, full: true }), createHash('sha256').update(text).digest('hex').slice(0, 12));
  assert.is.not(
    idMappingFingerprint({ uidMap: map, gidMap: map, uid: 0, gid: 0, full: true }),
    idMappingFingerprint({ uidMap: other, gidMap: other, uid: 0, gid: 0, full: true }),
  );
});

test.run();
