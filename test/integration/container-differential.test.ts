/**
 * Differential: one sequence of container commands (run -d, logs, exec, inspect, stop with a trapped signal,
 * start, kill, wait, rm, a --rm run's status, and the errors of a stopped or unknown container) run by devbox
 * and by rootless podman (runc, vfs) from the same image; what a user sees — stdout, and whether each command
 * succeeded — must be the same. Where the two may differ by design (ids, timings) the step compares a
 * normalised form, said at the step.
 */
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import type { CliResult } from '../helpers/cli.js';
import { createImageSuite, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, writeTar } from '../helpers/images.js';
import { test } from '../helpers/test.js';

let suite: ImageSuite;
const IMAGE = 'localhost/ctr-diff';

const fixtures = once(async () => {
  suite = await createImageSuite('ctr-diff');
  const tar = join(await suite.tempDir('rootfs'), 'rootfs.tar');
  await writeTar(tar, busyboxRootfs());
  await suite.devboxOk(['image', 'import', tar, IMAGE]);
  const archive = join(await suite.tempDir('image'), 'image.tar');
  await suite.devboxOk(['image', 'save', '-o', archive, IMAGE]);
  suite.podman(['load', '-q', '-i', archive]);
});

test.before.each(fixtures);

test.after(async () => {
  for (const name of ['diff-web']) {
    await suite?.devbox(['rm', '-f', name]);
    suite?.podmanResult(['rm', '-f', '-t', '0', name]);
  }
  await suite?.cleanup();
});

type Tool = (args: string[]) => Promise<CliResult>;
const tools = (): [string, Tool][] => [
  ['devbox', (args) => suite.devbox(args)],
  ['podman', async (args) => suite.podmanResult(args)],
];

/** What a user sees of a command: its status (0 or not) and stdout, normalised by `normalise`. */
function seen(result: CliResult, normalise: (out: string) => string = (s) => s): string {
  return `${result.exitCode === 0 ? 'ok' : 'failed'}\n${normalise(result.stdout)}`;
}

/** Runs `args` with both tools and compares what a user sees; returns devbox's result. */
async function same(args: string[], normalise?: (out: string) => string): Promise<CliResult> {
  const [[, devbox], [, podman]] = tools();
  const ours = await devbox(args);
  const theirs = await podman(args);
  assert.is(
    seen(ours, normalise),
    seen(theirs, normalise),
    `devbox ${args.join(' ')} vs podman (devbox stderr: ${ours.stderr.trim()}; podman stderr: ${theirs.stderr.trim()})`,
  );
  return ours;
}

async function untilLogged(text: string, count = 1): Promise<void> {
  for (const [name, tool] of tools()) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const logs = (await tool(['logs', 'diff-web'])).stdout;
      if (logs.split(text).length - 1 >= count) break;
      if (Date.now() > deadline) throw new Error(`${name}: "${text}" never appeared ${count} time(s) in the logs: ${logs}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('a detached container through its life: the same output and statuses as podman', async () => {
  const script = 'echo "started $GREETING"; trap "echo bye; exit 3" TERM; while :; do sleep 1 & wait $!; done';
  // run -d prints the new id: compare its shape.
  await same(['run', '-d', '--name', 'diff-web', '-e', 'GREETING=hi', IMAGE, 'sh', '-c', script], (out) => out.replace(/^[0-9a-f]{64}\n$/, 'ID'));
  await untilLogged('started hi');
  await same(['exec', 'diff-web', 'sh', '-c', 'echo "$GREETING"; id -u; pwd']);
  await same(['exec', '-e', 'X=1', '-w', '/tmp', '-u', 'alice', 'diff-web', 'sh', '-c', 'echo "$X"; pwd; id -un']);
  await same(['exec', 'diff-web', 'sh', '-c', 'exit 5']);
  await same(['inspect', '-f', '{{.State.Status}} {{.State.Running}} {{.Config.Image}}', 'diff-web'], (out) => out.replace('localhost/ctr-diff:latest', IMAGE));
  // Untruncated: docker cuts a command at 20 characters with "…", podman with "..."; devbox does as docker.
  await same(['ps', '--no-trunc', '--format', '{{.Names}} {{.Command}}', '--filter', 'name=diff-web'], (out) => out.replace(/"/g, ''));
  await same(['stop', '-t', '10', 'diff-web']);
  await same(['inspect', '-f', '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}', 'diff-web']);
  await same(['logs', 'diff-web']);
  await same(['start', 'diff-web']);
  await untilLogged('started hi', 2);
  await same(['kill', '-s', 'KILL', 'diff-web']);
  await same(['wait', 'diff-web']);
  await same(['ps', '-a', '--format', '{{.Names}}', '--filter', 'name=diff-web', '--filter', 'status=exited']);
  await same(['rm', 'diff-web']);
  await same(['ps', '-a', '-q', '--filter', 'name=diff-web']);
});

test('a --rm run gives its command status; errors fail in both', async () => {
  await same(['run', '--rm', IMAGE, 'sh', '-c', 'echo out; exit 7']);
  await same(['stop', 'no-such-container']);
  await same(['logs', 'no-such-container']);
  await same(['create', '--name', 'diff-web', IMAGE, 'true'], (out) => out.replace(/^[0-9a-f]{64}\n$/, 'ID'));
  await same(['create', '--name', 'diff-web', IMAGE, 'true']); // the name is taken
  await same(['exec', 'diff-web', 'true']); // not running
  await same(['rm', 'diff-web']);
});

test.run();
