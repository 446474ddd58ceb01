/**
 * PAX extended header records (POSIX pax format: "LENGTH KEY=VALUE\n", LENGTH counting the whole record in
 * bytes) with their values as bytes. Extended attributes travel in them as SCHILY.xattr.NAME, and some are
 * binary (security.capability is a little-endian struct); tar-stream reads and writes PAX records as UTF-8
 * text, which would mangle them, so devbox reads the raw records of an entry (extract.ts) and writes the
 * headers of entries with xattrs itself (builder/layer-tar.ts).
 */
import type tar from 'tar-stream';

export const XATTR_PAX_PREFIX = 'SCHILY.xattr.';

/** The records of a PAX header's body; a malformed record ends the list, as tar-stream's own parser does. */
export function parsePaxRecords(body: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let offset = 0;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    if (space < 0) break;
    const length = Number(body.subarray(offset, space).toString('latin1'));
    const end = offset + length;
    if (!Number.isSafeInteger(length) || length <= space - offset || end > body.length || body[end - 1] !== 0x0a) break;
    const equals = body.indexOf(0x3d, space + 1);
    if (equals < 0 || equals >= end) break;
    records.set(body.subarray(space + 1, equals).toString('utf8'), Buffer.from(body.subarray(equals + 1, end - 1)));
    offset = end;
  }
  return records;
}

/** One record: its length prefix counts its own digits. */
function encodeRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = rest.length + 1;
  while (String(length).length + rest.length !== length) length = String(length).length + rest.length;
  return Buffer.concat([Buffer.from(String(length)), rest]);
}

export function encodePaxRecords(records: Iterable<[string, Buffer]>): Buffer {
  return Buffer.concat([...records].map(([key, value]) => encodeRecord(key, value)));
}

const BLOCK = 512;

/** An octal ustar field of `width` bytes: digits, then NUL. */
function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/**
 * A whole PAX extended header (typeflag x) for the entry that follows it: its ustar header block, the
 * records, zeros to the next block. tar-stream's packer refuses a body for any entry but a file, so a
 * writer pushes these bytes itself, between two entries.
 */
export function paxHeaderEntry(records: Buffer, mtime: Date): Buffer {
  const header = Buffer.alloc(BLOCK);
  header.write('PaxHeader', 0, 'latin1');
  header.write(octal(0o644, 8), 100, 'latin1');
  header.write(octal(0, 8), 108, 'latin1');
  header.write(octal(0, 8), 116, 'latin1');
  header.write(octal(records.length, 12), 124, 'latin1');
  header.write(octal(Math.max(0, Math.floor(mtime.getTime() / 1000)), 12), 136, 'latin1');
  header.write('x', 156, 'latin1');
  header.write('ustar\x0000', 257, 'latin1');
  // The checksum is the byte sum with its own field read as eight spaces.
  header.fill(0x20, 148, 156);
  const sum = header.reduce((a, b) => a + b, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const padding = Buffer.alloc((BLOCK - (records.length % BLOCK)) % BLOCK);
  return Buffer.concat([header, records, padding]);
}

/**
 * Makes `extract` keep the raw records of each entry's PAX header: the returned map gives them for the
 * entry's `header.pax` object. It hooks tar-stream's internal `_decodeLongHeader` (tar-stream 3), which
 * receives every long header's body; a tar-stream without it is an error here, not silently mangled values.
 */
export function keepRawPaxRecords(extract: tar.Extract): WeakMap<object, Map<string, Buffer>> {
  const raw = new WeakMap<object, Map<string, Buffer>>();
  const internals = extract as unknown as { _decodeLongHeader(body: Buffer): void; _header: { type?: string }; _pax: object | null };
  const decode = internals._decodeLongHeader;
  if (typeof decode !== 'function') throw new Error('this tar-stream has no _decodeLongHeader: PAX records cannot be read as bytes');
  internals._decodeLongHeader = function (this: typeof internals, body: Buffer) {
    decode.call(this, body);
    if (this._header.type === 'pax-header' && this._pax) raw.set(this._pax, parsePaxRecords(body));
  };
  return raw;
}
