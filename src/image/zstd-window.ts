/**
 * A bound on the memory a zstd stream may make its decoder take. A frame's header says how large a window
 * (history) decoding it needs, up to 3.75 TB, and fzstd allocates that much when the frame starts: a
 * crafted layer of a few bytes could ask for 2 GB. As the zstd tool does by default (its --memory limit,
 * ZSTD_WINDOWLOG_LIMIT_DEFAULT), frames that need more than 128 MiB are refused before the decoder sees them.
 * The scanner follows the frame format (RFC 8878 §3.1) just enough to find each frame's header: frame
 * header, block headers and sizes, checksum, skippable frames. Anything it does not recognise it leaves to
 * the decoder, which reports corrupt data in its own words.
 */
import { DevboxError } from '../util/errors.js';

export const ZSTD_MAX_WINDOW = 2 ** 27;

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50; // low four bits: any
const DICT_ID_BYTES = [0, 1, 2, 4];

type State = 'magic' | 'skippable-size' | 'frame-header' | 'block-header' | 'checksum' | 'unknown';

/** The window a frame header asks for: the window descriptor's, or the content size of a single-segment frame. */
function windowSize(header: Buffer): number {
  const descriptor = header[0];
  const singleSegment = (descriptor >> 5) & 1;
  if (!singleSegment) {
    const exponent = header[1] >> 3;
    const base = 2 ** (10 + exponent);
    return base + (base / 8) * (header[1] & 7);
  }
  const at = 1 + DICT_ID_BYTES[descriptor & 3];
  switch (descriptor >> 6) {
    case 0:
      return header[at];
    case 1:
      return header.readUInt16LE(at) + 256;
    case 2:
      return header.readUInt32LE(at);
    default:
      return Number(header.readBigUInt64LE(at));
  }
}

/** Bytes of a frame header, from its first byte (the frame header descriptor). */
function frameHeaderSize(descriptor: number): number {
  const singleSegment = (descriptor >> 5) & 1;
  const contentSizeBytes = [singleSegment, 2, 4, 8][descriptor >> 6];
  return 1 + (singleSegment ? 0 : 1) + DICT_ID_BYTES[descriptor & 3] + contentSizeBytes;
}

export class ZstdWindowGuard {
  private state: State = 'magic';
  private pending = Buffer.alloc(0);
  /** Bytes to pass unlooked at (block contents, skippable frames). */
  private skip = 0;
  private lastBlock = false;
  private hasChecksum = false;

  /** Looks at the next piece of the stream; throws before a frame that needs too large a window. */
  check(chunk: Buffer): void {
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length && this.state !== 'unknown') {
      if (this.skip) {
        const passed = Math.min(this.skip, data.length);
        this.skip -= passed;
        data = data.subarray(passed);
        continue;
      }
      const need = this.bytesNeeded(data);
      if (data.length < need) break;
      this.consume(data.subarray(0, need));
      data = data.subarray(need);
    }
    if (this.state !== 'unknown') this.pending = Buffer.from(data);
  }

  private bytesNeeded(data: Buffer): number {
    switch (this.state) {
      case 'frame-header':
        return frameHeaderSize(data[0]);
      case 'block-header':
        return 3;
      default:
        return 4;
    }
  }

  private consume(bytes: Buffer): void {
    switch (this.state) {
      case 'magic': {
        const magic = bytes.readUInt32LE(0);
        if (magic === FRAME_MAGIC) this.state = 'frame-header';
        else if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) this.state = 'skippable-size';
        else this.state = 'unknown';
        return;
      }
      case 'skippable-size':
        this.skip = bytes.readUInt32LE(0);
        this.state = 'magic';
        return;
      case 'frame-header': {
        const window = windowSize(bytes);
        if (window > ZSTD_MAX_WINDOW) {
          throw new DevboxError(
            `a zstd frame asks for a ${(window / 2 ** 20).toFixed(0)} MiB window, more than the ${ZSTD_MAX_WINDOW / 2 ** 20} MiB devbox decodes`,
            {
              fix: "the zstd tool refuses it too by default; recompress with a smaller window (zstd's --long of 27 or less)",
            },
          );
        }
        this.hasChecksum = ((bytes[0] >> 2) & 1) === 1;
        this.state = 'block-header';
        return;
      }
      case 'block-header': {
        const header = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16);
        const type = (header >> 1) & 3;
        if (type === 3) {
          this.state = 'unknown'; // reserved: corrupt, the decoder says so
          return;
        }
        this.lastBlock = (header & 1) === 1;
        this.skip = type === 1 ? 1 : header >>> 3; // an RLE block's content is one byte
        this.state = this.lastBlock ? (this.hasChecksum ? 'checksum' : 'magic') : 'block-header';
        return;
      }
      case 'checksum':
        this.state = 'magic';
        return;
      default:
        return;
    }
  }
}
