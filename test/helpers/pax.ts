/**
 * Reading PAX records as bytes, as the helper's extractor does (native/tar.c): tar-stream reads them as UTF-8
 * text, which mangles binary xattr values (security.capability), so the tests that look at the xattrs of a
 * tar devbox wrote read the raw records through these.
 */
import type tar from 'tar-stream';

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
