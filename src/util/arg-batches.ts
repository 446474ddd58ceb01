/** Splitting a long list of arguments over several runs of a program, each command line well within ARG_MAX. */

/** Bytes of arguments per run: far below the kernel's limit (a quarter of the stack rlimit, 2 MiB by default). */
const BATCH_BYTES = 128 * 1024;

/**
 * Calls `run` with consecutive groups of `groups` concatenated, each call's arguments under BATCH_BYTES
 * (a group is never split: an operation and its operands stay in one call). Returns what the calls returned.
 */
export async function inArgBatches<T>(groups: readonly (readonly string[])[], run: (args: string[]) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let batch: string[] = [];
  let bytes = 0;
  for (const group of groups) {
    const size = group.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
    if (batch.length && bytes + size > BATCH_BYTES) {
      results.push(await run(batch));
      batch = [];
      bytes = 0;
    }
    batch.push(...group);
    bytes += size;
  }
  if (batch.length) results.push(await run(batch));
  return results;
}
