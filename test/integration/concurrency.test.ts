/**
 * Commands at the same moment on one store: eight builds, eight runs, eight first entries of one project;
 * pull, rmi, prune and run together. Each either succeeds or is refused in one line for a reason it names,
 * the results are the ones a sequence of the same commands would give, and the store checks clean after.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { sandboxDir } from '../../src/sandbox/live-state.js';
import { devbox, devboxOk } from '../helpers/cli.js';
import { dockerArchive } from '../helpers/image-suite.js';
import { busyboxRootfs, importBusybox, packTar, testDir } from '../helpers/images.js';
import { sandboxSupervisors } from '../helpers/processes.js';
import { seedImage, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { checkStore } from '../helpers/store-check.js';

const IMAGE = 'busybox:latest';
const EIGHT = [0, 1, 2, 3, 4, 5, 6, 7];
const storeRoot = () => join(process.env.XDG_DATA_HOME!, 'devbox');
const projects: string[] = [];
let registry: TestRegistry | undefined;

test.before(async () => {
  await importBusybox(IMAGE);
});

test.after(async () => {
  for (const root of projects) await devbox(['stop'], { cwd: root });
  await registry?.stop();
});

test('eight builds of one Dockerfile at once: all succeed, the tag names one of them, the store checks clean', async () => {
  const context = await testDir('concurrent-build');
  writeFileSync(join(context, 'Dockerfile'), `FROM ${IMAGE}\nRUN echo built > /built\nCOPY Dockerfile /copied\n`);
  const builds = await Promise.all(EIGHT.map(() => devbox(['build', '-q', '-t', 'concurrent-build:1', context])));
  for (const b of builds) assert.is(b.exitCode, 0, b.stderr);
  // Builds that ran a step at the same moment made images that differ in their times (as buildah's do); the tag
  // is the one stored last.
  const tagged = JSON.parse((await devboxOk(['image', 'inspect', 'concurrent-build:1'])).stdout)[0].Id;
  assert.ok(
    builds.some((b) => b.stdout.trim() === `sha256:${tagged}`),
    `${tagged} is none of ${builds.map((b) => b.stdout.trim())}`,
  );
  assert.is((await devboxOk(['run', '--rm', 'concurrent-build:1', 'cat', '/built'])).stdout, 'built\n');
  assert.equal(checkStore(storeRoot()), []);
});

test('eight runs at once: each gets its own container and output, none is left', async () => {
  const runs = await Promise.all(EIGHT.map((i) => devbox(['run', '--rm', IMAGE, 'sh', '-c', `echo run ${i} > /mine; cat /mine`])));
  assert.equal(
    runs.map((r) => r.stdout),
    EIGHT.map((i) => `run ${i}\n`),
  );
  assert.equal(checkStore(storeRoot()), []);
});

test('eight first entries of one project at once: one sandbox, all of them in it', async () => {
  const root = await testDir('concurrent-project');
  writeFileSync(join(root, 'devbox.json'), JSON.stringify({ image: IMAGE }));
  projects.push(root);
  // Each prints the start time of its pid 1: one sandbox gives one.
  const entries = await Promise.all(EIGHT.map(() => devbox(['run', 'sh', '-c', 'cut -d" " -f22 /proc/1/stat'], { cwd: root })));
  for (const e of entries) assert.is(e.exitCode, 0, e.stderr);
  assert.is(new Set(entries.map((e) => e.stdout)).size, 1);
  assert.is(sandboxSupervisors(sandboxDir(storeRoot(), root)).length, 1);
  assert.equal(checkStore(storeRoot()), []);
});

test('pull, rmi, prune and run at once: each succeeds or is refused in one line, the store checks clean', async () => {
  registry = await startRegistry(await testDir('concurrent-registry'));
  const archive = join(await testDir('concurrent-pull'), 'image.tar');
  const layers = [await packTar(busyboxRootfs()), await packTar([{ name: 'pulled', content: 'pulled\n' }])];
  writeFileSync(archive, await dockerArchive([{ layers, names: ['concurrent/app:1'] }]));
  const ref = `${registry.host}/concurrent/app:1`;
  await seedImage(archive, ref);
  await devboxOk(['image', 'tag', IMAGE, 'concurrent-doomed:1']);
  const [pull, rmi, prune, run] = await Promise.all([
    devbox(['pull', '-q', ref]),
    devbox(['rmi', 'concurrent-doomed:1']),
    devbox(['image', 'prune', '-f']),
    devbox(['run', '--rm', IMAGE, 'echo', 'ran']),
  ]);
  assert.is(pull.exitCode, 0, pull.stderr);
  assert.is(rmi.exitCode, 0, rmi.stderr);
  assert.is(prune.exitCode, 0, prune.stderr);
  assert.is(run.stdout, 'ran\n', run.stderr);
  assert.is((await devboxOk(['run', '--rm', ref, 'cat', '/pulled'])).stdout, 'pulled\n');
  assert.equal(checkStore(storeRoot()), []);
});

test.run();
