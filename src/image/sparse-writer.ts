/**
 * Writing file content so that sparse files stay sparse: all-zero 4 KiB blocks (aligned in the file) are
 * skipped, leaving holes, and the size is set with ftruncate at the end, which also makes a trailing hole.
 * A tar carries holes as zeros, so without this a 1 GiB mostly-empty file would take 1 GiB in every layer.
 */
import { ftruncateSync, writeSync } from 'node:fs';

const BLOCK = 4096;
const ZEROS = Buffer.alloc(BLOCK);

export class SparseWriter {
  private pos = 0;
  /** The file's size so far: the end of the last block written. */
  private written = 0;
  private pending = Buffer.alloc(0);

  constructor(private readonly fd: number) {}

  /** tar bodies arrive in pieces of any size: bytes are held back until a whole block is known. */
  write(chunk: Buffer): void {
    const data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const whole = data.length - (data.length % BLOCK);
    this.writeBlocks(data.subarray(0, whole));
    this.pending = Buffer.from(data.subarray(whole));
  }

  /** Writes what is left and sets the size (a file that ends in a hole needs ftruncate for it). */
  end(): void {
    const size = this.pos + this.pending.length;
    if (this.pending.length) this.writeAt(this.pending, 0, this.pending.length, this.pos);
    if (this.written < size) ftruncateSync(this.fd, size);
  }

  private writeBlocks(data: Buffer): void {
    let runStart = -1;
    for (let i = 0; i <= data.length; i += BLOCK) {
      const atEnd = i === data.length;
      const zero = !atEnd && data.compare(ZEROS, 0, BLOCK, i, i + BLOCK) === 0;
      if ((zero || atEnd) && runStart >= 0) {
        this.writeAt(data, runStart, i - runStart, this.pos + runStart);
        runStart = -1;
      } else if (!zero && !atEnd && runStart < 0) runStart = i;
    }
    this.pos += data.length;
  }

  private writeAt(data: Buffer, offset: number, length: number, position: number): void {
    writeAll(this.fd, data, offset, length, position);
    this.written = position + length;
  }
}

/** pwrite until done: a single write may be short. */
function writeAll(fd: number, data: Buffer, offset: number, length: number, position: number): void {
  while (length > 0) {
    const n = writeSync(fd, data, offset, length, position);
    offset += n;
    length -= n;
    position += n;
  }
}
