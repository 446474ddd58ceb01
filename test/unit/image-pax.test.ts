import { Readable } from 'node:stream';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import tar from 'tar-stream';
import { encodePaxRecords } from '../../src/image/pax.js';
import { keepRawPaxRecords, parsePaxRecords } from '../helpers/pax.js';
import { packTar } from '../helpers/images.js';

test('PAX records round-trip as bytes; each length counts its own digits, across 9/10 and 99/100', () => {
  const binary = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0x0a, 0x3d, 0x20]);
  for (const size of [0, 1, 2, 86, 87, 88, 89, 90, 991, 992, 993]) {
    const value = Buffer.alloc(size, 0x61);
    const body = encodePaxRecords([['SCHILY.xattr.user.x', value]]);
    assert.is(Number(body.toString('latin1').split(' ')[0]), body.length, `value of ${size} bytes`);
    assert.equal([...parsePaxRecords(body)], [['SCHILY.xattr.user.x', value]]);
  }
  const records: [string, Buffer][] = [
    ['path', Buffer.from('dir/ünïcode')],
    ['SCHILY.xattr.security.capability', binary],
  ];
  assert.equal([...parsePaxRecords(encodePaxRecords(records))], records);
  // A malformed record ends the list where it starts.
  assert.equal([...parsePaxRecords(Buffer.concat([encodePaxRecords([['a', Buffer.from('1')]]), Buffer.from('99 b=2\n')]))], [['a', Buffer.from('1')]]);
});

test("tar-stream's extractor, hooked, hands over each entry's raw records (binary values intact)", async () => {
  const capability = Buffer.from('0100000200200000000000000000000000000000', 'hex');
  const data = await packTar([
    { name: 'plain', content: 'a' },
    { name: 'capped', content: 'b', xattrs: { 'security.capability': capability } },
  ]);
  const extract = tar.extract();
  const raw = keepRawPaxRecords(extract);
  Readable.from([data]).pipe(extract);
  const seen: [string, Buffer | undefined][] = [];
  for await (const entry of extract) {
    seen.push([entry.header.name, entry.header.pax ? raw.get(entry.header.pax)?.get('SCHILY.xattr.security.capability') : undefined]);
    entry.resume();
  }
  assert.equal(seen, [
    ['plain', undefined],
    ['capped', capability],
  ]);
});

test.run();
