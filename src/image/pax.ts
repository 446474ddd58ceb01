/**
 * PAX extended header records (POSIX pax format: "LENGTH KEY=VALUE\n", LENGTH counting the whole record in
 * bytes) with their values as bytes. Extended attributes travel in them as SCHILY.xattr.NAME, and some are
 * binary (security.capability is a little-endian struct); tar-stream writes PAX records as UTF-8 text,
 * which would mangle them, so devbox writes the headers of entries with xattrs itself (builder/layer-tar.ts);
 * the helper's extractor reads them as bytes (native/tar.c).
 */

export const XATTR_PAX_PREFIX = 'SCHILY.xattr.';

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
