import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { writeLayerTar } from '../../src/builder/layer-tar.js';
import { keepRawPaxRecords } from '../helpers/pax.js';

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

test('asLayer: a directory in the layer format gets its record and loses the mount stubs the tar leaves out; anything else is unpacked from the tar', async () => {
  const base = mkdtempSync(join(tmpdir(), 'devbox-layer-tar-'));
  const upper = (name: string) => {
    const dir = join(base, name);
    mkdirSync(join(dir, 'etc'), { recursive: true });
    mkdirSync(join(dir, 'proc'));
    mkdirSync(join(dir, 'opaque'));
    writeFileSync(join(dir, 'etc', 'hosts'), '');
    writeFileSync(join(dir, 'etc', 'app.conf'), 'conf');
    utimesSync(join(dir, 'etc'), new Date(1_000_000_000_000), new Date(1_000_000_000_000));
    return dir;
  };
  const xattrs = (extra: Record<string, string>) => async (paths: readonly string[]) =>
    new Map(
      paths.flatMap((p): [string, { name: string; value: Buffer }[]][] => {
        const list: { name: string; value: Buffer }[] = [];
        if (p.endsWith('/opaque')) list.push({ name: 'user.overlay.opaque', value: Buffer.from('y') });
        if (p.endsWith('/etc')) list.push({ name: 'user.overlay.origin', value: Buffer.from([1]) }, { name: 'user.mine', value: Buffer.from('v') });
        for (const [suffix, name] of Object.entries(extra)) if (p.endsWith(suffix)) list.push({ name, value: Buffer.from('x') });
        return list.length ? [[p, list]] : [];
      }),
    );
  const stubs = new Set(['proc', 'etc/hosts']);
  try {
    const dir = upper('good');
    const good = await writeLayerTar({ dir, out: join(base, 'good.tar'), mountStubs: stubs, readXattrs: xattrs({}), asLayer: true });
    assert.equal(good.layerRecord, { opaqueDirs: ['opaque'], xattrs: [{ path: 'etc', name: 'user.mine', value: Buffer.from('v').toString('hex') }] });
    assert.not.ok(existsSync(join(dir, 'proc')) || existsSync(join(dir, 'etc', 'hosts')), 'the stubs are gone');
    assert.ok(existsSync(join(dir, 'etc', 'app.conf')));
    assert.is(statSync(join(dir, 'etc')).mtimeMs, 1_000_000_000_000, 'the parent keeps the time the tar gives it');

    const redirect = upper('redirect');
    const withRedirect = await writeLayerTar({
      dir: redirect,
      out: join(base, 'r.tar'),
      mountStubs: stubs,
      readXattrs: xattrs({ '/opaque': 'user.overlay.redirect' }),
      asLayer: true,
    });
    assert.is(withRedirect.layerRecord, undefined);
    assert.ok(existsSync(join(redirect, 'proc')), 'a directory that is not taken is left as it was');

    const fuse = upper('fuse');
    writeFileSync(join(fuse, 'opaque', '.wh..wh..opq'), '');
    assert.is((await writeLayerTar({ dir: fuse, out: join(base, 'f.tar'), mountStubs: stubs, readXattrs: xattrs({}), asLayer: true })).layerRecord, undefined);
    assert.is((await writeLayerTar({ dir: upper('plain'), out: join(base, 'p.tar'), mountStubs: stubs, readXattrs: xattrs({}) })).layerRecord, undefined);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test.run();
