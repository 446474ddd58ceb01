import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { writeLayerTar } from '../../src/builder/layer-tar.js';
import { keepRawPaxRecords } from '../../src/image/pax.js';

const CAPABILITY = Buffer.from('0100000200200000000000000000000000000000', 'hex');

test('xattrs go into the layer as bytes, whatever the name; overlay metadata does not', async () => {
  const base = mkdtempSync(join(tmpdir(), 'devbox-layer-tar-'));
  try {
    const dir = join(base, 'upper');
    const long = `${'ünïcode-'.repeat(20)}/ping`;
    mkdirSync(join(dir, 'bin', long, '..'), { recursive: true });
    writeFileSync(join(dir, 'bin', long), 'p');
    writeFileSync(join(dir, 'plain'), 'q');
    const out = join(base, 'layer.tar');
    await writeLayerTar({
      dir,
      out,
      readXattrs: async (paths) =>
        new Map(
          paths
            .filter((p) => p.endsWith('/ping') || p.endsWith('/bin'))
            .map((p) => [
              p,
              [
                { name: 'security.capability', value: CAPABILITY },
                { name: 'user.overlay.origin', value: Buffer.from([0xff]) },
              ],
            ]),
        ),
    });
    const extract = tar.extract();
    const raw = keepRawPaxRecords(extract);
    Readable.from([readFileSync(out)]).pipe(extract);
    const entries: [string, string | undefined, string][] = [];
    for await (const entry of extract) {
      const records = entry.header.pax ? raw.get(entry.header.pax) : undefined;
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      entries.push([entry.header.name, records ? [...records.keys()].filter((k) => k !== 'path').join(',') : undefined, Buffer.concat(chunks).toString()]);
      if (records?.has('SCHILY.xattr.security.capability')) assert.ok(records.get('SCHILY.xattr.security.capability')?.equals(CAPABILITY));
    }
    assert.equal(entries, [
      ['bin', 'SCHILY.xattr.security.capability', ''],
      [`bin/${long.split('/')[0]}`, '', ''], // tar-stream's own PAX header: the path alone
      [`bin/${long}`, 'SCHILY.xattr.security.capability', 'p'],
      ['plain', undefined, 'q'],
    ]);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test.run();
