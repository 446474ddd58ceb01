/**
 * The crash suite: devbox killed with SIGKILL at moments spread over a command's run (pull, build, import,
 * a project start; `devbox commit` does not exist yet). After each kill the next command succeeds and the
 * store checks clean; a project's sandbox is found and ended by stop whatever moment its starter died at, and
 * its writable layer never has two sandboxes on it. Bounded: a few kills per command, at moments spread over
 * that command's duration as measured in the same run (the machine is shared), moved by a seeded jitter. The
 * moment of a failing kill is in the failure's message.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { layersDir } from '../../src/image/layer-paths.js';
import { sandboxDir } from '../../src/sandbox/live-state.js';
import { resolveIdMapping } from '../../src/userns/idmap.js';
import { DEVBOX_BIN, devbox, devboxOk } from '../helpers/cli.js';
import { dockerArchive } from '../helpers/image-suite.js';
import { busyboxRootfs, importBusybox, packTar, testDir, writeTar } from '../helpers/images.js';
import { awaitNoProcessUnder, processesUnder, sandboxSupervisors } from '../helpers/processes.js';
import { seedImage, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { checkStore } from '../helpers/store-check.js';

const IMAGE = 'busybox:latest';
const storeRoot = () => join(process.env.XDG_DATA_HOME!, 'devbox');
const projects: string[] = [];
let registry: TestRegistry | undefined;
/** Incompressible, so that unpacking and hashing it take a while: kills land in the middle of the work. */
const BIG = randomBytes(4 * 1024 * 1024);

/** Kill moments (ms): `count` points spread over `durationMs`, each moved by up to a third of its slot. */
function moments(count: number, durationMs: number, seed: number): number[] {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const slot = durationMs / count;
  return Array.from({ length: count }, (_, i) => Math.round(slot * (i + 0.5) + (random() - 0.5) * (slot / 1.5)));
}

/** Starts devbox and SIGKILLs it once `due` says so (polled every millisecond); resolves once it is gone. */
function killWhen(args: readonly string[], due: (elapsedMs: number) => boolean, cwd?: string): Promise<boolean> {
  const child = spawn(process.execPath, [DEVBOX_BIN, ...args], { cwd, stdio: 'ignore' });
  const start = Date.now();
  let killed = false;
  const poll = setInterval(() => {
    if (!due(Date.now() - start)) return;
    killed = child.kill('SIGKILL');
    clearInterval(poll);
  }, 1);
  return new Promise((resolve) => {
    child.once('exit', () => {
      clearInterval(poll);
      resolve(killed);
    });
  });
}

async function timed(args: readonly string[], cwd?: string): Promise<number> {
  const start = Date.now();
  await devboxOk(args, { cwd });
  return Date.now() - start;
}

function assertClean(when: string): void {
  assert.equal(checkStore(storeRoot()), [], `the store after a kill ${when}`);
}

test.before(async () => {
  await importBusybox(IMAGE);
});

test.after(async () => {
  for (const root of projects) await devbox(['stop'], { cwd: root });
  await registry?.stop();
  // A failed case may have left what it checks for: nothing of this suite outlives it.
  for (const root of projects) for (const p of processesUnder(sandboxDir(storeRoot(), root))) process.kill(p.pid, 'SIGKILL');
});

test('pull killed at any moment: the next pull succeeds, the store checks clean', async () => {
  const dir = await testDir('crash-pull');
  registry = await startRegistry(await testDir('crash-registry'));
  const archive = join(dir, 'image.tar');
  const layers = [await packTar(busyboxRootfs()), await packTar([{ name: 'big', content: BIG }])];
  writeFileSync(archive, await dockerArchive([{ layers, names: ['crash/app:1'] }]));
  const ref = `${registry.host}/crash/app:1`;
  await seedImage(archive, ref);
  const duration = await timed(['pull', '-q', ref]);
  const delays = moments(2, duration, 3);
  for (const delay of delays) {
    await devboxOk(['rmi', ref]);
    await killWhen(['pull', '-q', ref], (ms) => ms >= delay);
    await devboxOk(['pull', '-q', ref]);
    assertClean(`${delay} ms into a pull (of ${delays})`);
  }
});

test('a pull with every layer in place clears what a killed unpack left', async () => {
  // The state a pull killed after storing its blobs leaves: no later unpack would come to clear it.
  registry ??= await startRegistry(await testDir('crash-registry'));
  const archive = join(await testDir('crash-pull-stale'), 'image.tar');
  writeFileSync(archive, await dockerArchive([{ layers: [await packTar(busyboxRootfs())], names: ['crash/stale:1'] }]));
  const ref = `${registry.host}/crash/stale:1`;
  await seedImage(archive, ref);
  await devboxOk(['pull', '-q', ref]);
  const leftover = join(layersDir(storeRoot(), resolveIdMapping().mapping), '.tmp-0123456789ab');
  mkdirSync(join(leftover, 'bin'), { recursive: true });
  await devboxOk(['pull', '-q', ref]);
  assert.not.ok(existsSync(leftover), 'the second pull removed the unfinished unpack');
  assertClean('after a pull over an unfinished unpack');
});

test('import killed at any moment: the next import succeeds, the store checks clean', async () => {
  const tar = join(await testDir('crash-import'), 'rootfs.tar');
  await writeTar(tar, [...busyboxRootfs(), { name: 'big', content: BIG }]);
  const duration = await timed(['image', 'import', tar, 'crash-import:1']);
  const delays = moments(2, duration, 5);
  for (const delay of delays) {
    await devboxOk(['rmi', 'crash-import:1']);
    await killWhen(['image', 'import', tar, 'crash-import:1'], (ms) => ms >= delay);
    await devboxOk(['image', 'import', tar, 'crash-import:1']);
    assertClean(`${delay} ms into an import (of ${delays})`);
  }
});

test('build killed at any moment: the next build succeeds, the store checks clean', async () => {
  const context = await testDir('crash-build');
  writeFileSync(join(context, 'big'), BIG);
  writeFileSync(join(context, 'Dockerfile'), `FROM ${IMAGE}\nRUN echo step > /step\nCOPY big /big\nRUN cat /big > /again\n`);
  const build = ['build', '-q', '--no-cache', '-t', 'crash-build:1', context];
  const duration = await timed(build);
  const delays = moments(2, duration, 7);
  for (const delay of delays) {
    await killWhen(build, (ms) => ms >= delay);
    await devboxOk(build);
    assertClean(`${delay} ms into a build (of ${delays})`);
  }
});

async function project(): Promise<{ root: string; dir: string }> {
  const root = await testDir('crash-project');
  writeFileSync(join(root, 'devbox.json'), JSON.stringify({ image: IMAGE }));
  projects.push(root);
  return { root, dir: sandboxDir(storeRoot(), root) };
}

/**
 * After a start was killed: what runs of the sandbox is listed, stop ends all of it, and the next entry starts
 * exactly one sandbox.
 */
async function assertRecoverable(root: string, dir: string, when: string): Promise<void> {
  // A helper killed with its starter (before the sandbox was recorded it dies with it) can still be seen for a
  // moment: what must be listed is a sandbox that stays. A project sandbox's full id is its directory's name.
  const deadline = Date.now() + 5000;
  for (;;) {
    if (!sandboxSupervisors(dir).length) break;
    const ps = await devboxOk(['ps', '-q', '--no-trunc']);
    if (ps.stdout.split('\n').includes(basename(dir))) break;
    assert.ok(Date.now() < deadline, `a sandbox that runs after a kill ${when} is not listed:\n${ps.stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await devbox(['stop'], { cwd: root });
  await awaitNoProcessUnder(dir, 5000).catch((error) => assert.unreachable(`after a kill ${when} and stop: ${(error as Error).message}`));
  await devboxOk(['run', 'true'], { cwd: root });
  assert.is(sandboxSupervisors(dir).length, 1, `sandboxes after a kill ${when} and the next entry`);
  assertClean(when);
}

// Moments tied to what the start has done, where a kill at a random moment rarely lands.
const STAGES: [string, (dir: string) => boolean][] = [
  ['its helper is spawned', (dir) => sandboxSupervisors(dir).length > 0],
  // ports.json is written once slirp4netns has configured the network, before the sandbox is let go.
  ['slirp4netns is up', (dir) => existsSync(join(dir, 'ports.json'))],
  ['its pid 1 is up', (dir) => processesUnder(dir).some((p) => p.cmdline === 'devbox-init')],
];

for (const [stage, reached] of STAGES) {
  test(`a project start killed the moment ${stage}: stop ends it, the next entry starts exactly one`, async () => {
    const { root, dir } = await project();
    assert.ok(await killWhen(['run', 'true'], () => reached(dir), root), 'the start ended before the moment came');
    await assertRecoverable(root, dir, `the moment ${stage}`);
  });
}

test('a project start killed at any moment: stop ends it, the next entry starts exactly one', async () => {
  const first = await project();
  const duration = await timed(['run', 'true'], first.root);
  const delays = moments(3, duration, 11);
  for (const delay of delays) {
    const { root, dir } = await project();
    await killWhen(['run', 'true'], (ms) => ms >= delay, root);
    await assertRecoverable(root, dir, `${delay} ms into a project start (of ${delays})`);
  }
});

test.run();
