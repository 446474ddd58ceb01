import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox } from '../helpers/cli.js';
import { testDir } from '../helpers/images.js';

test('doctor passes on a machine set up for rootless devbox and names each check', async () => {
  const r = await devbox(['doctor']);
  assert.is(r.exitCode, 0, r.stdout + r.stderr);
  for (const check of ['native helper', 'user namespaces', 'full id mapping', 'overlayfs in a user namespace', 'fuse-overlayfs', 'slirp4netns']) {
    assert.match(r.stdout, new RegExp(`^ok   ${check}: `, 'm'));
  }
});

test('doctor --json is a list of checks with ok, required and detail', async () => {
  const checks = JSON.parse((await devbox(['doctor', '--json'])).stdout) as { name: string; ok: boolean; required: boolean; detail: string }[];
  assert.ok(checks.length >= 6);
  for (const c of checks) assert.equal(Object.keys(c).slice(0, 4).sort(), ['detail', 'name', 'ok', 'required']);
});

test('a broken settings file makes doctor fail with the file and the fix, and run refuse in one line', async () => {
  const config = await testDir('config');
  mkdirSync(join(config, 'devbox'));
  writeFileSync(join(config, 'devbox', 'config.json'), '{"storage": "zfs"}');
  const env = { XDG_CONFIG_HOME: config };
  const doctor = await devbox(['doctor'], { env });
  assert.is(doctor.exitCode, 1);
  assert.match(doctor.stdout, /^FAIL settings: .*config\.json: "storage" must be one of auto, native, fuse, copy/m);
  const run = await devbox(['run', '--rm', 'busybox', 'true'], { env });
  assert.is(run.exitCode, 125); // as docker run: devbox could not start the container
  assert.is(
    run.stderr,
    `devbox: ${join(config, 'devbox', 'config.json')}: "storage" must be one of auto, native, fuse, copy (devbox config set storage VALUE)\n`,
  );
});

test('config set validates and persists a setting that run then uses', async () => {
  const config = await testDir('config');
  const env = { XDG_CONFIG_HOME: config };
  const bad = await devbox(['config', 'set', 'storage', 'zfs'], { env });
  assert.is(bad.exitCode, 1);
  assert.match(bad.stderr, /setting "storage" must be one of auto, native, fuse, copy, not "zfs"/);
  assert.is((await devbox(['config', 'set', 'storage', 'copy'], { env })).exitCode, 0);
  assert.match((await devbox(['config'], { env })).stdout, /^storage = copy$/m);
});

test.run();
