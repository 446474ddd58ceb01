/**
 * --device for real: the host's node bound into the container (same major and minor, usable), at its own
 * path or another, a folder's nodes, kept for a restart, shown by inspect; a missing node, a file that is no device and a node
 * the container could not open refused in one line before anything is made.
 */
import * as assert from 'uvu/assert';
import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { devbox, devboxOk } from '../helpers/cli.js';
import { assertOneLineFailure } from '../helpers/errors.js';
import { importBusybox, testDir } from '../helpers/images.js';
import { test } from '../helpers/test.js';

const IMAGE = 'device-busybox:latest';
const started: string[] = [];

/** "major,minor" in hex, as busybox stat's %t,%T prints them. */
function hostNumbers(path: string): string {
  const { rdev } = statSync(path);
  return `${((rdev >> 8) & 0xfff).toString(16)},${(rdev & 0xff).toString(16)}`;
}

test.before(async () => {
  await importBusybox(IMAGE);
});

test.after(async () => {
  for (const id of started) await devbox(['rm', '-f', id]);
});

test('--device /dev/fuse and /dev/null:/dev/mynull: the host nodes, usable inside', async () => {
  const out = await devboxOk([
    'run',
    '--rm',
    '--device',
    '/dev/fuse',
    '--device',
    '/dev/null:/dev/mynull:rw',
    IMAGE,
    'sh',
    '-c',
    'stat -c %F:%t,%T /dev/fuse /dev/mynull; echo gone > /dev/mynull && cat /dev/mynull && echo written; exec 3</dev/fuse && echo opened',
  ]);
  assert.is(out.stdout, `character special file:${hostNumbers('/dev/fuse')}\ncharacter special file:${hostNumbers('/dev/null')}\nwritten\nopened\n`);
  // Without --device the container has neither.
  const without = await devboxOk(['run', '--rm', IMAGE, 'sh', '-c', 'ls /dev/fuse /dev/mynull 2>/dev/null; echo $?']);
  assert.is(without.stdout.trim(), '1');
});

test('--device of a folder: each device node below it, at the same place below the container path', async () => {
  const out = await devboxOk(['run', '--rm', '--device', '/dev/net:/dev/hostnet', IMAGE, 'sh', '-c', 'stat -c %F:%t,%T /dev/hostnet/tun']);
  assert.is(out.stdout, `character special file:${hostNumbers('/dev/net/tun')}\n`);
  const empty = await testDir('no-devices');
  writeFileSync(join(empty, 'file'), 'not a device\n');
  assertOneLineFailure(
    await devbox(['run', '--rm', '--device', empty, IMAGE, 'true']),
    new RegExp(`^devbox: --device ${empty}: no device node in this folder that the container could open`),
    125,
  );
});

test('a detached container gets its devices again after a restart; inspect shows HostConfig.Devices', async () => {
  const device = existsSync('/dev/net/tun') ? '/dev/net/tun' : '/dev/fuse';
  const id = (await devboxOk(['run', '-d', '--device', `${device}:${device}:rw`, IMAGE, 'sleep', '300'])).stdout.trim();
  started.push(id);
  const devices = JSON.parse((await devboxOk(['inspect', '-f', '{{json .HostConfig.Devices}}', id])).stdout);
  assert.equal(devices, [{ PathOnHost: device, PathInContainer: device, CgroupPermissions: 'rw' }]);
  await devboxOk(['restart', '-t', '0', id]);
  assert.is((await devboxOk(['exec', id, 'stat', '-c', '%t,%T', device])).stdout.trim(), hostNumbers(device));
  // Not a mount the user gave.
  assert.equal(JSON.parse((await devboxOk(['inspect', '-f', '{{json .Mounts}}', id])).stdout), []);
});

test('bad --device values: one line each, status 125, no container made', async () => {
  const before = (await devboxOk(['ps', '-a', '-q', '--no-trunc'])).stdout;
  const cases: [string, RegExp][] = [
    ['/dev/devbox-no-such-node', /^devbox: --device \/dev\/devbox-no-such-node: no such device on this machine/],
    ['/etc/hostname', /^devbox: --device \/etc\/hostname: not a device node/],
    ['dev/null', /^devbox: invalid --device "dev\/null": the paths must be absolute/],
    ['/dev/null:/a:/b:rw', /^devbox: invalid --device "\/dev\/null:\/a:\/b:rw"/],
  ];
  // A node the caller may not open (root may open every node).
  const closed = ['/dev/loop-control', '/dev/tty0', '/dev/console', '/dev/mem'].find((path) => {
    if (process.getuid!() === 0 || !existsSync(path)) return false;
    try {
      accessSync(path, constants.R_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (closed) cases.push([closed, new RegExp(`^devbox: --device ${closed}: you cannot read and write it \\(mode `)]);
  else assert.is(process.getuid!(), 0, 'an unprivileged user has a node it cannot open');
  for (const [spec, message] of cases) assertOneLineFailure(await devbox(['run', '-d', '--device', spec, IMAGE, 'true']), message, 125);
  assert.is((await devboxOk(['ps', '-a', '-q', '--no-trunc'])).stdout, before);
});

test.run();
