import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { readRecord } from '../../src/container/records.js';

test('a record from before mounts named their volumes reads with no volumes and its tmpfs paths as mounts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devbox-record-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ id: 'a', mounts: [{ source: '/h', destination: '/c', readonly: false }], tmpfs: ['/scratch'] }));
    const record = readRecord(dir)!;
    assert.equal(record.volumes, []);
    assert.equal(record.tmpfs, [{ destination: '/scratch', options: ['nosuid', 'nodev', 'mode=1777'] }]);
    const current = {
      id: 'b',
      mounts: [],
      volumes: [{ name: 'v', destination: '/v', anonymous: false, readonly: true }],
      tmpfs: [{ destination: '/t', options: ['size=1m'] }],
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(current));
    assert.equal(readRecord(dir), current);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
