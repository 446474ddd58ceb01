/**
 * What a broken registry or network does to a pull: a flipped byte, a blob cut short, a pull killed while a
 * layer streams. Each is refused or survived with the store as it was (nothing half-written), and the next
 * pull from a sound source works. A proxy in front of a real registry does the breaking.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { DEVBOX_BIN } from '../helpers/cli.js';
import { createImageSuite, dockerArchive, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, packTar } from '../helpers/images.js';
import { seedImage, startProxy, startRegistry, type ProxyMode, type TestProxy, type TestRegistry } from '../helpers/registry.js';

let suite: ImageSuite;
let registry: TestRegistry;
let proxy: TestProxy;

const fixtures = once(async () => {
  suite = await createImageSuite('registry-faults');
  registry = await startRegistry(await suite.tempDir('registry'));
  proxy = await startProxy(registry.host);
  const archive = join(await suite.tempDir('seed'), 'image.tar');
  const layers = [await packTar(busyboxRootfs()), await packTar([{ name: 'etc/marker', content: 'sound\n' }])];
  writeFileSync(archive, await dockerArchive([{ layers, names: ['app:1'], config: { Cmd: ['cat', '/etc/marker'] } }]));
  await seedImage(archive, `${registry.host}/app:1`);
});

test.before.each(fixtures);

test.after(async () => {
  await proxy?.stop();
  await registry?.stop();
  await suite?.cleanup();
});

/** Pulls app:1 through the proxy in `mode`; returns the result and the store before and after. */
async function pullThrough(mode: ProxyMode) {
  proxy.mode = mode;
  const before = suite.snapshot();
  const result = await suite.devbox(['pull', `${proxy.host}/app:1`]);
  proxy.mode = 'pass';
  return { result, before, after: suite.snapshot() };
}

test('a blob with a flipped byte is refused: digest mismatch named, nothing stored', async () => {
  const { result, before, after } = await pullThrough('flip-byte');
  assert.is(result.exitCode, 1);
  const line = result.stderr.trim().split('\n').pop()!;
  assert.match(line, new RegExp(`^devbox: cannot pull ${proxy.host}/app:1: blob sha256:[0-9a-f]{64}: content does not match its digest \\(got sha256:`));
  assert.is(after, before);
});

test('a blob cut short is refused as truncated, nothing stored', async () => {
  const { result, before, after } = await pullThrough('truncate');
  assert.is(result.exitCode, 1);
  assert.match(
    result.stderr,
    new RegExp(`devbox: cannot pull ${proxy.host}/app:1: blob sha256:[0-9a-f]{12}…: the transfer broke off after \\d+ of \\d+ bytes`),
  );
  assert.is(after, before);
});

test('a pull killed while a layer streams leaves no image and no layer in place; the next pull completes', async () => {
  proxy.mode = 'stall';
  const stalled = proxy.nextStall();
  const child = spawn(process.execPath, [DEVBOX_BIN, 'pull', `${proxy.host}/app:1`], {
    env: { ...process.env, XDG_DATA_HOME: join(suite.dir, 'data'), XDG_CONFIG_HOME: join(suite.dir, 'config') },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await stalled;
  child.kill('SIGKILL');
  await exited;
  proxy.mode = 'pass';
  const killed = suite.snapshot();
  assert.not.match(killed, /app:1/);
  assert.match(killed.split('\n')[2], /blob-/); // it was killed mid-download
  const r = await suite.devboxOk(['pull', '-q', `${proxy.host}/app:1`]);
  assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
  const run = await suite.devboxOk(['run', '--rm', `${proxy.host}/app:1`]);
  assert.is(run.stdout, 'sound\n');
  const [, layers, temps] = suite.snapshot().split('\n');
  assert.not.match(temps, /blob-/); // the killed pull's temp file and half-unpacked layer were cleared
  assert.not.match(layers, /\.tmp-/);
});

test.run();
