/**
 * Binary extended attributes (security.capability, a little-endian struct) in layer tars' PAX headers: they
 * survive unpacking byte for byte (seen from inside a sandbox), and a build step that touches the file keeps
 * them in the layer it writes, which `devbox image save` hands on unchanged; COPY --from and ADD of an
 * archive carry them too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { keepRawPaxRecords } from '../helpers/pax.js';
import { devboxOk } from '../helpers/cli.js';
import { busyboxRootfs, testDir, writeTar } from '../helpers/images.js';
import { syscallProbe } from '../helpers/probe.js';

/** VFS_CAP_REVISION_2, CAP_NET_RAW permitted and effective: what `setcap cap_net_raw+ep` writes. */
const CAPABILITY = Buffer.from('0100000200200000000000000000000000000000', 'hex');

/** Each entry's raw PAX records of a tar, by entry name. */
async function paxRecords(data: Buffer): Promise<Map<string, Map<string, Buffer>>> {
  const extract = tar.extract();
  const raw = keepRawPaxRecords(extract);
  Readable.from([data]).pipe(extract);
  const found = new Map<string, Map<string, Buffer>>();
  for await (const entry of extract) {
    if (entry.header.pax) found.set(entry.header.name, raw.get(entry.header.pax) ?? new Map());
    entry.resume();
  }
  return found;
}

/** The members of a tar file, by name. */
async function members(data: Buffer): Promise<Map<string, Buffer>> {
  const extract = tar.extract();
  Readable.from([data]).pipe(extract);
  const out = new Map<string, Buffer>();
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.set(entry.header.name, Buffer.concat(chunks));
  }
  return out;
}

test.before(async () => {
  const path = join(await testDir('xattrs'), 'rootfs.tar');
  await writeTar(path, [
    ...busyboxRootfs(),
    { name: 'probe', content: readFileSync(syscallProbe()), mode: 0o755 },
    { name: 'bin/capped', content: 'x', mode: 0o755, xattrs: { 'security.capability': CAPABILITY } },
  ]);
  await devboxOk(['image', 'import', path, 'capped:1']);
});

test('security.capability from a PAX header is on the unpacked file, byte for byte', async () => {
  const r = await devboxOk(['run', '--rm', 'capped:1', '/probe', 'getcap', '/bin/capped']);
  assert.is(r.stdout, `${CAPABILITY.toString('hex')}\n`);
});

test('a build step that changes the file keeps its capability in the new layer, and save hands it on', async () => {
  const context = await testDir('context');
  writeFileSync(join(context, 'Dockerfile'), 'FROM capped:1\nRUN chmod 0750 /bin/capped\n');
  await devboxOk(['build', '-q', '-t', 'capped:2', context]);
  const run = await devboxOk(['run', '--rm', 'capped:2', '/probe', 'getcap', '/bin/capped']);
  assert.is(run.stdout, `${CAPABILITY.toString('hex')}\n`);
  const archive = join(await testDir('save'), 'image.tar');
  await devboxOk(['image', 'save', '-o', archive, 'capped:2']);
  const saved = await members(readFileSync(archive));
  const manifest = JSON.parse(saved.get('manifest.json')!.toString()) as { Layers: string[] }[];
  const top = saved.get(manifest[0].Layers.at(-1)!)!;
  const records = (await paxRecords(top)).get('bin/capped');
  assert.ok(records, 'the built layer has bin/capped with PAX records');
  assert.equal(records.get('SCHILY.xattr.security.capability'), CAPABILITY);
});

test('COPY --from and ADD of an archive keep a file capability, linked or copied, as BuildKit does', async () => {
  const context = await testDir('copy-xattrs');
  await writeTar(join(context, 'caps.tar'), [{ name: 'f', content: 'y', mode: 0o755, xattrs: { 'security.capability': CAPABILITY } }]);
  // As they are: hard links of the source's file. With --chmod: copies, whose xattrs are set afterwards.
  writeFileSync(
    join(context, 'Dockerfile'),
    [
      'FROM capped:1',
      'COPY --from=capped:1 /bin/capped /linked',
      'COPY --from=capped:1 --chmod=700 /bin/capped /copied',
      'ADD caps.tar /added/',
      'ADD --chmod=700 caps.tar /added-copied/',
    ].join('\n'),
  );
  await devboxOk(['build', '-q', '-t', 'capped:3', context]);
  for (const path of ['/linked', '/copied', '/added/f', '/added-copied/f']) {
    const run = await devboxOk(['run', '--rm', 'capped:3', '/probe', 'getcap', path]);
    assert.is(run.stdout, `${CAPABILITY.toString('hex')}\n`, path);
  }
});

test.run();
