/**
 * Output on stdout and stderr written straight to file descriptors 1 and 2. process.stdout is a stream that
 * Node.js builds at its first use — for a pipe a net.Socket, loading node:net and node:stream — which took
 * ~7 ms of the ~25 ms `devbox ps` spends past Node.js's own start (2026-12-07, --cpu-prof): more than printing.
 * A descriptor someone left non-blocking (EAGAIN) goes back to the stream for the rest, which waits for it.
 */
import { writeSync } from 'node:fs';

/** The descriptors written through their stream from now on, and those whose reader has gone. */
const streamed = new Set<number>();
const closed = new Set<number>();

function write(fd: 1 | 2, text: string): boolean {
  if (closed.has(fd)) return false;
  // process.stdout is a getter that builds the stream: read only when it is needed.
  const stream = () => (fd === 1 ? process.stdout : process.stderr);
  if (streamed.has(fd)) {
    stream().write(text);
    return true;
  }
  let data = Buffer.from(text);
  while (data.length) {
    try {
      data = data.subarray(writeSync(fd, data));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') {
        closed.add(fd);
        return false;
      }
      if (code !== 'EAGAIN') throw error;
      streamed.add(fd);
      stream().write(data);
      return true;
    }
  }
  return true;
}

/** Writes text to stdout; false once its reader has gone (`devbox logs -f | head`), when writing is pointless. */
export function writeStdout(text: string): boolean {
  return write(1, text);
}

/** Writes text to stderr; false once its reader has gone. */
export function writeStderr(text: string): boolean {
  return write(2, text);
}
