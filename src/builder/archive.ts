/**
 * ADD's automatic extraction: a local source that is a tar archive (plain, gzip or xz, recognized by its
 * content as Docker does, not by its name) is unpacked at the destination; anything else is copied as is.
 * xz has no decoder in Node.js: @napi-rs/lzma decodes it (in memory, which is fine for the archives ADD
 * is used with; layers never go through here).
 */
import { createReadStream, promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { detectCompression, peek } from '../image/layer-stream.js';

const TAR_BLOCK = 512;

/** A tar header block: the ustar magic, or (for old v7 tars) a valid header checksum. */
function isTarHeader(block: Buffer): boolean {
  if (block.length < TAR_BLOCK) return false;
  if (block.subarray(257, 262).toString('latin1') === 'ustar') return true;
  const recorded = parseInt(block.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
  if (Number.isNaN(recorded)) return false;
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return sum === recorded;
}

/** The uncompressed tar stream of `path`, or undefined when it is not a tar archive ADD extracts. */
export async function openTarArchive(path: string): Promise<Readable | undefined> {
  const handle = await fs.open(path, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(8);
    head = buffer.subarray(0, (await handle.read(buffer, 0, buffer.length, 0)).bytesRead);
  } finally {
    await handle.close();
  }
  let tar: Readable;
  switch (detectCompression(head)) {
    case 'none':
      tar = createReadStream(path);
      break;
    case 'gzip':
      tar = createReadStream(path).pipe(createGunzip());
      break;
    case 'xz': {
      const { xz } = await import('@napi-rs/lzma');
      tar = Readable.from([await xz.decompress(await fs.readFile(path))]);
      break;
    }
    default:
      return undefined; // bzip2 and zstd archives are copied as files
  }
  try {
    const { head: block, stream } = await peek(tar, TAR_BLOCK);
    if (isTarHeader(block.subarray(0, TAR_BLOCK))) return stream;
    stream.destroy();
  } catch {
    // a corrupt compressed file is not an archive either: it is copied
  }
  return undefined;
}
