/**
 * devbox.lock and shared environments against a real registry (docker-registry on 127.0.0.1, seeded by
 * skopeo), as the user running the suite: pins written on first entry, a tag moved upstream ignored until
 * `devbox update`, stale and malformed locks, and `devbox push-env` then a teammate (another store, the repo
 * copied to another path) entering without building.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk, type CliOptions } from '../helpers/cli.js';
import { dockerArchive, once } from '../helpers/image-suite.js';
import { busyboxRootfs, packTar, testDir } from '../helpers/images.js';
import { projectDir } from '../helpers/project.js';
import { freePort, registryApi, seedImage, sha256, startRegistry, type TestRegistry } from '../helpers/registry.js';

let registry: TestRegistry;
/** Projects with a live sandbox, and the store each was entered with, stopped at the end. */
const entered: { root: string; options: CliOptions }[] = [];

const MANIFEST_TYPES = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

/** Seeds REPO:TAG with busybox plus /etc/marker = `marker`; returns the manifest digest the registry serves. */
async function seed(repoTag: string, marker: string): Promise<string> {
  const archive = join(await testDir('seed'), 'image.tar');
  const layers = [await packTar(busyboxRootfs()), await packTar([{ name: 'etc/marker', content: `${marker}\n` }])];
  writeFileSync(archive, await dockerArchive([{ layers, names: [repoTag] }]));
  await seedImage(archive, `${registry.host}/${repoTag}`);
  const [repo, tag] = repoTag.split(':');
  const res = await registryApi(registry.host, `${repo}/manifests/${tag}`, { headers: { Accept: MANIFEST_TYPES } });
  assert.is(res.status, 200);
  return sha256(Buffer.from(await res.arrayBuffer()));
}

/** The lock devbox writes for these pins: sorted keys, two-space indent, final newline. */
function lockText(images: Record<string, string>): string {
  const entries = Object.keys(images)
    .sort()
    .map((ref) => [ref, { digest: images[ref] }]);
  return `${JSON.stringify({ lockfileVersion: 1, images: Object.fromEntries(entries) }, null, 2)}\n`;
}

/** A store of its own (another machine's), as XDG_DATA_HOME under the suite's temp dir. */
async function otherStore(): Promise<CliOptions> {
  return { env: { XDG_DATA_HOME: await testDir('teammate-data') } };
}

async function run(root: string, args: string[], options: CliOptions = {}) {
  entered.push({ root, options });
  return devbox(['run', ...args], { ...options, cwd: root });
}

async function runOk(root: string, args: string[], options: CliOptions = {}) {
  entered.push({ root, options });
  return devboxOk(['run', ...args], { ...options, cwd: root });
}

const fixtures = once(async () => {
  registry = await startRegistry(await testDir('registry'));
});

test.before.each(fixtures);

test.after(async () => {
  for (const { root, options } of entered) await devbox(['stop'], { ...options, cwd: root });
  await registry?.stop();
});

test('first entry pins the image by the digest its registry serves; a moved tag changes nothing until devbox update', async () => {
  const ref = `${registry.host}/lock/base:1`;
  const first = await seed('lock/base:1', 'one');
  const root = projectDir({ 'devbox.json': JSON.stringify({ image: ref }) });
  assert.is((await runOk(root, ['cat', '/etc/marker'])).stdout, 'one\n');
  assert.is(readFileSync(join(root, 'devbox.lock'), 'utf8'), lockText({ [ref]: first }));

  const moved = await seed('lock/base:1', 'two');
  assert.is.not(moved, first);
  await devboxOk(['pull', '-q', ref]); // the store's lock/base:1 is now the moved one
  await devboxOk(['stop'], { cwd: root });
  assert.is((await runOk(root, ['cat', '/etc/marker'])).stdout, 'one\n', 'restarted from the pinned digest, not the tag');
  const teammate = await otherStore();
  const fresh = await runOk(root, ['cat', '/etc/marker'], teammate);
  assert.is(fresh.stdout, 'one\n', 'a store without the image pulls the pinned digest');

  const update = await devboxOk(['update'], { cwd: root });
  assert.is(update.stdout, `${ref} ${moved}\n`);
  assert.match(update.stderr, /devbox\.lock updated; the environment is remade on the next devbox shell or run/);
  assert.is(readFileSync(join(root, 'devbox.lock'), 'utf8'), lockText({ [ref]: moved }));
  assert.is((await runOk(root, ['cat', '/etc/marker'])).stdout, 'two\n', 'the sandbox is remade from the new pin');
  const again = await devboxOk(['update'], { cwd: root });
  assert.match(again.stderr, /devbox\.lock is up to date/);
});

test("a Dockerfile's FROM and COPY --from images are pinned; a local-only image is recorded as local", async () => {
  const base = `${registry.host}/lock/from:1`;
  const tools = `${registry.host}/lock/tools:1`;
  const [baseDigest, toolsDigest] = [await seed('lock/from:1', 'from'), await seed('lock/tools:1', 'tools')];
  const rootfs = join(await testDir('local'), 'rootfs.tar');
  writeFileSync(rootfs, await packTar([{ name: 'local-marker', content: 'local\n' }]));
  await devboxOk(['image', 'import', rootfs, 'localhost/lock/local:1']);
  const root = projectDir({
    'devbox.json': '{}',
    '.devbox/Dockerfile': `ARG TOOLS=${tools}\nFROM ${base}\nCOPY --from=\${TOOLS} /etc/marker /tools-marker\nCOPY --from=localhost/lock/local:1 /local-marker /\n`,
  });
  assert.is((await runOk(root, ['cat', '/etc/marker', '/tools-marker', '/local-marker'])).stdout, 'from\ntools\nlocal\n');
  const lock = JSON.parse(readFileSync(join(root, 'devbox.lock'), 'utf8'));
  assert.equal(lock.images, { [base]: { digest: baseDigest }, [tools]: { digest: toolsDigest }, 'localhost/lock/local:1': { local: true } });
});

test('a pinned digest that exists nowhere is a stale lock: one line naming the image and devbox update', async () => {
  const ref = `${registry.host}/lock/stale:1`;
  await seed('lock/stale:1', 'stale');
  const gone = sha256('no such manifest');
  const root = projectDir({ 'devbox.json': JSON.stringify({ image: ref }), 'devbox.lock': lockText({ [ref]: gone }) });
  const r = await run(root, ['true'], await otherStore());
  assert.is(r.exitCode, 125);
  const lines = r.stderr.trim().split('\n');
  assert.is(
    lines.at(-1),
    `devbox: devbox.lock pins ${ref} to sha256:${gone.slice(7, 19)}…, which is neither in the image store nor in its registry (run "devbox update" to pin its current digest)`,
  );
  assert.is(lines.filter((line) => /^devbox: (?!note:)/.test(line)).length, 1, r.stderr);
});

test('a malformed lock is reported at file:line:col, like the config', async () => {
  const root = projectDir({
    'devbox.json': JSON.stringify({ image: `${registry.host}/lock/base:1` }),
    'devbox.lock': '{\n  "lockfileVersion": 1,\n  "images": { "x:1": { "digest": "sha256:12" } }\n}\n',
  });
  const path = join(root, 'devbox.lock');
  const errorLine = async () => {
    const r = await run(root, ['true']);
    assert.is(r.exitCode, 125);
    const errors = r.stderr
      .trim()
      .split('\n')
      .filter((line) => !line.startsWith('devbox: note:'));
    assert.is(errors.length, 1, r.stderr);
    return errors[0];
  };
  assert.is(await errorLine(), `devbox: ${path}:3:34: "images.x:1.digest" must be sha256: and 64 lowercase hex digits, not "sha256:12"`);
  writeFileSync(path, '{ "lockfileVersion": 1, "images": {} ]\n');
  assert.is(await errorLine(), `devbox: ${path}:1:38: invalid JSON: expected "," (fix the syntax at that position)`);
  writeFileSync(path, '{ "lockfileVersion": 1, "images": { "busybox": { "local": true } } }\n');
  assert.is(
    await errorLine(),
    `devbox: ${path}:1:37: "images.busybox" is not an image reference as devbox writes them (REGISTRY/REPOSITORY:TAG) (fix it, or remove it and devbox writes it again)`,
  );
});

test('push-env, then a teammate with another store and the repo at another path enters without building', async () => {
  await seed('lock/env-base:1', 'env base');
  const envImage = `${registry.host}/lock/env`;
  const root = projectDir({
    'devbox.json': JSON.stringify({ envImage }),
    '.devbox/Dockerfile': `FROM ${registry.host}/lock/env-base:1\nRUN cat /proc/sys/kernel/random/uuid > /random\n`,
  });
  const built = await runOk(root, ['cat', '/random']);
  assert.match(built.stderr, /STEP 2\/2: RUN cat/);
  const pushed = await devboxOk(['push-env'], { cwd: root });
  const [, tag] = /^[^ ]*:([0-9a-f]{12}): digest: sha256:[0-9a-f]{64} size: \d+\n$/.exec(pushed.stdout) ?? [];
  assert.ok(tag, pushed.stdout);
  const manifest = await (await registryApi(registry.host, `lock/env/manifests/${tag}`, { headers: { Accept: MANIFEST_TYPES } })).json();
  const config = await (await registryApi(registry.host, `lock/env/blobs/${manifest.config.digest}`)).json();
  assert.match(config.config.Labels['dev.devbox.inputs-hash'], new RegExp(`^sha256:${tag}[0-9a-f]{52}$`));

  const copy = join(await testDir('teammate-repo'), 'checkout');
  cpSync(root, copy, { recursive: true });
  const teammate = await otherStore();
  const entry = await runOk(copy, ['cat', '/random'], teammate);
  assert.is(entry.stdout, built.stdout, 'the file RUN wrote with random content is the pushed one');
  assert.not.match(entry.stderr, /STEP|building/);
  assert.match(entry.stderr, new RegExp(`Trying to pull ${envImage}:${tag}`));
});

test('an envImage without the tag, or unreachable, falls back to building with one note line', async () => {
  await seed('lock/fallback:1', 'fallback');
  const dockerfile = `FROM ${registry.host}/lock/fallback:1\nRUN echo built > /built\n`;
  const missing = projectDir({ 'devbox.json': JSON.stringify({ envImage: `${registry.host}/lock/nothing-here` }), '.devbox/Dockerfile': dockerfile });
  const r = await runOk(missing, ['cat', '/built']);
  assert.is(r.stdout, 'built\n');
  assert.match(
    r.stderr,
    new RegExp(`devbox: note: cannot pull ${registry.host}/lock/nothing-here:[0-9a-f]{12}: 404 [^\\n]*; building the environment here\\n`),
  );
  assert.match(r.stderr, /STEP 2\/2: RUN echo built/);

  const unreachable = projectDir({ 'devbox.json': JSON.stringify({ envImage: `127.0.0.1:${await freePort()}/env` }), '.devbox/Dockerfile': dockerfile });
  const u = await runOk(unreachable, ['cat', '/built']);
  assert.is(u.stdout, 'built\n');
  assert.is(u.stderr.split('\n').filter((line) => line.startsWith('devbox: note: cannot pull')).length, 1);
});

test('push-env refuses a tag, and a project that uses an image as it is', async () => {
  const root = projectDir({ 'devbox.json': '{}', '.devbox/Dockerfile': `FROM ${registry.host}/lock/base:1\n` });
  const tagged = await devbox(['push-env', `${registry.host}/lock/env:v1`], { cwd: root });
  assert.is(tagged.exitCode, 1);
  assert.is(
    tagged.stderr,
    `devbox: devbox push-env: "${registry.host}/lock/env:v1" names a tag (give the repository alone (REGISTRY/NAME): devbox tags it with the inputs hash)\n`,
  );
  const imageProject = projectDir({ 'devbox.json': JSON.stringify({ image: `${registry.host}/lock/base:1`, envImage: `${registry.host}/lock/env` }) });
  const r = await devbox(['push-env'], { cwd: imageProject });
  assert.is(r.exitCode, 1);
  assert.match(r.stderr, /^devbox: the project uses the image .* as it is: there is no built environment to push/);
});

test.run();
