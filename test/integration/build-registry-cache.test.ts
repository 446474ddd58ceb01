/**
 * A build cache shared through a real registry (devbox build --cache-to/--cache-from type=registry, and a
 * project's "buildCache"): store A writes its steps to docker-registry on 127.0.0.1; store B, another
 * machine's with nothing cached, builds the same Dockerfile from them without running a RUN (each RUN calls a
 * counter on the host), gets the identical image, and runs it.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { writeContext } from '../helpers/build.js';
import { createImageSuite, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, writeTar } from '../helpers/images.js';
import { freePort, registryApi, seedImage, startRegistry, type TestRegistry } from '../helpers/registry.js';

let suite: ImageSuite;
let registry: TestRegistry;
/** The base image as an archive: every store loads the same one (as machines pull the same base image). */
let baseArchive: string;
let storeCount = 0;
/** RUN steps that ran, by what they said: each RUN of these Dockerfiles calls `/ran/WORD` on this server. */
const ran: string[] = [];
let counter: Server;
let counterUrl: string;

const fixtures = once(async () => {
  suite = await createImageSuite('build-registry-cache');
  registry = await startRegistry(await suite.tempDir('registry'));
  counter = createServer((req, res) => {
    ran.push(req.url ?? '');
    res.end('ok\n');
  });
  await new Promise<void>((resolve) => counter.listen(0, '127.0.0.1', resolve));
  counterUrl = `http://127.0.0.1:${(counter.address() as AddressInfo).port}`;
  const dir = await suite.tempDir('base');
  await writeTar(join(dir, 'rootfs.tar'), busyboxRootfs());
  await suite.devboxOk(['image', 'import', join(dir, 'rootfs.tar'), 'localhost/base:1']);
  baseArchive = join(dir, 'base-archive.tar');
  await suite.devboxOk(['image', 'save', '-o', baseArchive, 'localhost/base:1']);
});

test.before.each(async () => {
  await fixtures();
  ran.length = 0;
});

test.after(async () => {
  await new Promise((resolve) => counter?.close(resolve));
  await registry?.stop();
  await suite?.cleanup();
});

/** The environment of another store and config (another machine's), with the base image and nothing else. */
async function otherStore(): Promise<{ env: NodeJS.ProcessEnv }> {
  const dir = join(suite.dir, `store-${storeCount++}`);
  const env = { XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
  await suite.devboxOk(['image', 'load', '-i', baseArchive], { env });
  return { env };
}

/** A RUN that reports to the counter, then writes `/WORD`. */
const run = (word: string, content = word) => `RUN busybox wget -q -O /dev/null ${counterUrl}/ran/${word} && echo ${content} > /${word}`;

const dockerfile = () =>
  [
    'FROM localhost/base:1 AS tool',
    run('tool'),
    'FROM localhost/base:1',
    'ENV GREETING=hello',
    run('greeting', '"$GREETING"'),
    'COPY --from=tool /tool /tool',
    'COPY app.txt /app.txt',
    'CMD ["sh", "-c", "cat /greeting /tool /app.txt"]',
  ].join('\n');

test('a second store builds from the registry cache without running a step, and gets the identical image', async () => {
  const context = await writeContext(suite, { Dockerfile: dockerfile(), 'app.txt': 'app\n' });
  const ref = `${registry.host}/team/cache:max`;
  const a = await otherStore();
  const first = await suite.devboxOk(['build', '--progress=plain', '--cache-to', `type=registry,ref=${ref},mode=max`, '-t', 'app:1', context], a);
  assert.match(first.stderr, new RegExp(`Writing the build cache to ${registry.host}/team/cache:max\n`));
  assert.equal(ran.splice(0).sort(), ['/ran/greeting', '/ran/tool']);
  // The cache is an OCI image manifest with BuildKit's cache config: the registry serves it as one.
  const manifest = await (
    await registryApi(registry.host, 'team/cache/manifests/max', { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })
  ).json();
  assert.is(manifest.config.mediaType, 'application/vnd.buildkit.cacheconfig.v0');

  const b = await otherStore();
  const second = await suite.devboxOk(['build', '--progress=plain', '--cache-from', `type=registry,ref=${ref}`, '-t', 'app:1', context], b);
  assert.equal(ran, [], 'no RUN ran in the second store');
  assert.is(second.stdout, first.stdout, 'the same image id (its config digest)');
  assert.not.match(second.stderr, /--> done in/, second.stderr);
  assert.is((second.stderr.match(/--> Using cache/g) ?? []).length, 6, second.stderr);
  assert.is((await suite.devboxOk(['run', '--rm', 'app:1'], b)).stdout, 'hello\ntool\napp\n');
  // The steps whose layers it fetched are in its own cache now: the final image needs no registry next
  // time; the tool stage, whose files only the cache had, runs again without it.
  const third = await suite.devboxOk(['build', '--progress=plain', '-t', 'app:1', context], b);
  assert.equal(ran.splice(0), ['/ran/tool']);
  assert.is(third.stdout, first.stdout);
});

/** How many layers the store has unpacked (for any id mapping). */
function unpackedLayers(env: NodeJS.ProcessEnv): number {
  const root = join(env.XDG_DATA_HOME!, 'devbox', 'layers');
  if (!existsSync(root)) return 0;
  return readdirSync(root).flatMap((mapping) => readdirSync(join(root, mapping)).filter((name) => /^[0-9a-f]{64}$/.test(name))).length;
}

test('a build that the registry cache serves entirely pulls its base image without unpacking it; the first run unpacks it', async () => {
  const base = `${registry.host}/library/pulled-base:1`;
  await seedImage(baseArchive, base);
  const context = await writeContext(suite, { Dockerfile: `FROM ${base}\n${run('pulled')}\nCMD ["cat", "/pulled"]\n` });
  const ref = `${registry.host}/team/cache:pulled`;
  await suite.devboxOk(['build', '--cache-to', `type=registry,ref=${ref}`, context], await otherStore());
  assert.equal(ran.splice(0), ['/ran/pulled']);
  const dir = join(suite.dir, `store-${storeCount++}`);
  const fresh = { env: { XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') } };
  const built = await suite.devboxOk(['build', '--progress=plain', '--cache-from', `type=registry,ref=${ref}`, '-t', 'pulled:1', context], fresh);
  assert.equal(ran, [], 'no RUN ran');
  assert.match(built.stderr, /Trying to pull /, built.stderr);
  assert.is(unpackedLayers(fresh.env), 0, 'nothing unpacked');
  assert.is((await suite.devboxOk(['run', '--rm', 'pulled:1'], fresh)).stdout, 'pulled\n');
  assert.is(unpackedLayers(fresh.env), 2, 'the base layer and the RUN layer, unpacked to run');
});

test("mode=min keeps the final image's steps only; a changed step runs, the ones before it come from the registry", async () => {
  const context = await writeContext(suite, { Dockerfile: dockerfile(), 'app.txt': 'app\n' });
  const ref = `${registry.host}/team/cache:min`;
  await suite.devboxOk(['build', '--cache-to', `type=registry,ref=${ref}`, context], await otherStore());
  assert.is(ran.splice(0).length, 2);
  const b = await otherStore();
  writeFileSync(join(context, 'app.txt'), 'changed\n');
  const built = await suite.devboxOk(['build', '--progress=plain', '--cache-from', ref, '-t', 'app:2', context], b);
  // The tool stage is not in a mode=min cache: it runs; the final stage's steps before the changed COPY are taken.
  assert.equal(ran, ['/ran/tool']);
  assert.match(built.stderr, /STEP 5\/8: RUN busybox wget .*\/ran\/greeting.*\n--> Using cache\n/, built.stderr);
  assert.match(built.stderr, /STEP 7\/8: COPY app.txt \/app.txt\n(Copying blob .*\n)+--> done in/, built.stderr);
  assert.is((await suite.devboxOk(['run', '--rm', 'app:2'], b)).stdout, 'hello\ntool\nchanged\n');
});

test('a project\'s "buildCache" is read by its environment build, and written where exportBuildCache is set', async () => {
  const ref = `${registry.host}/team/project-cache:1`;
  const project = await suite.tempDir('project');
  writeFileSync(join(project, 'devbox.json'), JSON.stringify({ buildCache: ref, network: 'host' }));
  mkdirSync(join(project, '.devbox'));
  writeFileSync(join(project, '.devbox', 'Dockerfile'), `FROM localhost/base:1\n${run('built')}\n`);
  const ci = await otherStore();
  await suite.devboxOk(['config', 'set', 'exportBuildCache', 'true'], ci);
  try {
    assert.is((await suite.devboxOk(['run', 'cat', '/built'], { ...ci, cwd: project })).stdout, 'built\n');
  } finally {
    await suite.devbox(['stop'], { ...ci, cwd: project });
  }
  assert.equal(ran.splice(0), ['/ran/built']);
  const laptop = await otherStore();
  try {
    const entered = await suite.devboxOk(['run', 'cat', '/built'], { ...laptop, cwd: project });
    assert.is(entered.stdout, 'built\n');
  } finally {
    await suite.devbox(['stop'], { ...laptop, cwd: project });
  }
  assert.equal(ran, [], "the laptop's build took the RUN from the cache CI wrote");
});

test('bad refs and options are one usage line; an unreadable cache is a warning and the build goes on; an unwritable one fails with one line', async () => {
  const context = await writeContext(suite, { Dockerfile: 'FROM localhost/base:1\nRUN echo x > /x\n' });
  const store = await otherStore();
  for (const [args, message] of [
    [['--cache-to', 'type=local,dest=/tmp/x'], /--cache-to: type=local is not supported/],
    [['--cache-from', 'type=registry,ref=Not A Ref'], /--cache-from: build cache ref "Not A Ref"/],
  ] as const) {
    const r = await suite.devbox(['build', ...args, context], store);
    assert.is(r.exitCode, 125, r.stderr);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
  }
  const absent = await suite.devboxOk(['build', '--progress=plain', '--cache-from', `${registry.host}/team/absent:1`, context], store);
  assert.match(
    absent.stderr,
    new RegExp(`^devbox: warning: build cache ${registry.host}/team/absent:1 not used: there is no build cache at ${registry.host}/team/absent:1 yet$`, 'm'),
  );
  const port = await freePort();
  const unreachable = await suite.devboxOk(['build', '--progress=plain', '--no-cache', '--cache-from', `127.0.0.1:${port}/team/c:1`, context], store);
  assert.not.match(unreachable.stderr, /warning/, '--no-cache reads no cache');
  // (a registry cache is read only when a step is not in the local one)
  const other = await writeContext(suite, { Dockerfile: 'FROM localhost/base:1\nRUN echo y > /y\n' });
  const warned = await suite.devboxOk(['build', '--progress=plain', '--cache-from', `127.0.0.1:${port}/team/c:1`, '-t', 'warned', other], store);
  assert.match(warned.stderr, new RegExp(`^devbox: warning: build cache 127.0.0.1:${port}/team/c:1 not used: .*connection refused`, 'm'));
  assert.is((await suite.devboxOk(['run', '--rm', 'warned', 'cat', '/y'], store)).stdout, 'y\n', 'the build went on');
  const failed = await suite.devbox(['build', '-q', '--cache-to', `type=registry,ref=127.0.0.1:${port}/team/c:1`, context], store);
  assert.is(failed.exitCode, 1, failed.stderr);
  assert.match(failed.stderr, new RegExp(`^devbox: cannot write the build cache to 127.0.0.1:${port}/team/c:1: .*connection refused.*\n$`));
  const ignored = await suite.devboxOk(['build', '-q', '--cache-to', `type=registry,ref=127.0.0.1:${port}/team/c:1,ignore-error=true`, context], store);
  assert.match(ignored.stderr, /^devbox: warning: cannot write the build cache to/m);
});

test.run();
