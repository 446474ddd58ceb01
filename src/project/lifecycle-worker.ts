/**
 * `node lifecycle-worker.js SPEC`: lifecycle commands that run while the user already has a shell (those after
 * waitFor, postAttachCommand), detached from the devbox command that started them. SPEC (lifecycle.ts's
 * WorkerSpec) names the sandbox and the commands; stdout and stderr are the log in the sandbox's folder. A
 * failure is recorded in the sandbox's entry.json, so the next entry says so.
 */
import { readFileSync, rmSync } from 'node:fs';
import { joinSandbox } from '../runtime/launch.js';
import { describeFailure, recordFailure } from './entry-file.js';
import { runHooks, type WorkerSpec } from './lifecycle.js';

const specPath = process.argv[2];
const spec = JSON.parse(readFileSync(specPath, 'utf8')) as WorkerSpec;
rmSync(specPath, { force: true });
const failed = await runHooks(
  spec.hooks,
  (argv) => joinSandbox(spec.pid, { ...spec.process, args: argv }, spec.security, 'ignore'),
  (line) => process.stdout.write(`devbox: ${line}\n`),
);
if (failed) {
  recordFailure(spec.dir, spec, failed);
  process.stdout.write(`devbox: ${describeFailure(failed)}; the commands after it were skipped\n`);
}
