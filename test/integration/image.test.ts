/**
 * The image store for real: layers unpacked inside the user namespace, archives from and for podman (an
 * independent implementation), hostile input refused with the store left as it was.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostIdFor, idMappingFingerprint, resolveIdMapping } from '../../src/userns/idmap.js';
import { DEVBOX_BIN, devbox, devboxOk } from '../helpers/cli.js';
import { busyboxRootfs, testDir, writeDockerArchive, writeTar, type TarEntry } from '../helpers/images.js';

const { mapping } = resolveIdMapping();
const storeRoot = () => join(process.env.XDG_DATA_HOME!, 'devbox');
const layerPath = (diffID: string) => join(storeRoot(), 'layers', idMappingFingerprint(mapping), diffID.slice(7));

async function inspect(ref: string): Promise<{ Id: string; RepoTags: string[]; RootFS: { Layers: string[] } }> {
  return JSON.parse((await devboxOk(['image', 'inspect', ref])).stdout)[0];
}

/** Everything in the store that a failed command must not have changed. */
function storeSnapshot(): string {
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort().join(',') : '');
  const fp = join(storeRoot(), 'layers', idMappingFingerprint(mapping));
  return [list(join(storeRoot(), 'blobs', 'sha256')), list(fp), list(join(storeRoot(), 'tmp')), existsSync(join(storeRoot(), 'images.json')) ? execFileSync('cat', [join(storeRoot(), 'images.json')], { encoding: 'utf8' }) : ''].join('\n');
}

/** podman with its own store inside the suite's temp dir. */
function podman(args: string[]): string {
  try {
    return execFileSync('podman', ['--runtime', 'runc', ...args], { encoding: 'utf8', env: { ...process.env, XDG_DATA_HOME: join(process.env.DEVBOX_TEST_TMP!, 'podman') }, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new Error(`podman ${args.join(' ')} failed (is podman installed and usable rootless?): ${(error as { stderr?: string }).stderr ?? error}`);
  }
}

test('import: ownership from the tar lands in the mapped range, modes and sparse files survive', async () => {
  const dir = await testDir('import');
  const tar = join(dir, 'rootfs.tar');
  const sparse = Buffer.alloc(4 * 1024 * 1024);
  sparse.write('x', sparse.length - 1);
  await writeTar(tar, [
    ...busyboxRootfs(),
    { name: 'home/alice/mine', content: 'a', uid: 1000, gid: 1000 },
    { name: 'bin/suid', content: 'x', mode: 0o4755 },
    { name: 'sparse', content: sparse },
    { name: 'noted', content: 'n', pax: { 'SCHILY.xattr.user.note': 'kept' } },
    { name: 'pipe', type: 'fifo', mode: 0o600 },
  ]);
  await devboxOk(['image', 'import', tar, 'owned:1']);
  const layer = layerPath((await inspect('owned:1')).RootFS.Layers[0]);
  assert.is(statSync(join(layer, 'etc/passwd')).uid, hostIdFor(mapping.uidMap, 0));
  assert.is(statSync(join(layer, 'home/alice/mine')).uid, mapping.full ? hostIdFor(mapping.uidMap, 1000) : process.getuid!());
  assert.is(statSync(join(layer, 'bin/suid')).mode & 0o7777, 0o4755);
  assert.ok(statSync(join(layer, 'sparse')).blocks * 512 < 64 * 1024, 'sparse file was filled in');
  assert.ok(lstatSync(join(layer, 'pipe')).isFIFO());
  const xattr = execFileSync('python3', ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], "user.note").decode())', join(layer, 'noted')], { encoding: 'utf8' });
  assert.is(xattr.trim(), 'kept');
  // Inside, the owners read as they were in the tar.
  const r = await devboxOk(['run', '--rm', 'owned:1', 'stat', '-c', '%u %g %a', '/home/alice/mine', '/bin/suid']);
  assert.is(r.stdout, `${mapping.full ? '1000 1000' : '0 0'} 644\n0 0 4755\n`);
});

test('whiteouts in a loaded layer are overlay whiteout devices and opaque markers', async () => {
  const dir = await testDir('whiteout');
  const archive = join(dir, 'w.tar');
  await writeDockerArchive(archive, 'wh:1', [[...busyboxRootfs(), { name: 'd/old', content: 'o' }], [{ name: 'etc/.wh.group' }, { name: 'd/.wh..wh..opq' }]]);
  await devboxOk(['image', 'load', '-i', archive]);
  const upper = layerPath((await inspect('wh:1')).RootFS.Layers[1]);
  const wh = lstatSync(join(upper, 'etc/group'));
  assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'not a 0/0 character device');
  const opaque = execFileSync('python3', ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], "user.overlay.opaque").decode())', join(upper, 'd')], { encoding: 'utf8' });
  assert.is(opaque.trim(), 'y');
});

test('archives written by podman save load and run (docker-archive and oci-archive)', async () => {
  const dir = await testDir('podman');
  const rootfs = join(dir, 'rootfs.tar');
  await writeTar(rootfs, busyboxRootfs());
  podman(['import', rootfs, 'localhost/from-podman:1']);
  for (const format of ['docker-archive', 'oci-archive']) {
    const archive = join(dir, `${format}.tar`);
    podman(['save', '--format', format, '-o', archive, 'localhost/from-podman:1']);
    const loaded = await devboxOk(['image', 'load', '-i', archive]);
    assert.match(loaded.stdout, /Loaded image: localhost\/from-podman:1/);
    const r = await devboxOk(['run', '--rm', 'localhost/from-podman:1', 'echo', format]);
    assert.is(r.stdout, `${format}\n`);
    await devboxOk(['rmi', 'localhost/from-podman:1']);
  }
});

test('an image saved by devbox loads in podman with the same layers, and runs in rootless podman', async () => {
  const dir = await testDir('save');
  const rootfs = join(dir, 'rootfs.tar');
  await writeTar(rootfs, busyboxRootfs());
  await devboxOk(['image', 'import', rootfs, 'to-podman:1']);
  const ours = await inspect('to-podman:1');
  for (const format of ['docker-archive', 'oci-archive']) {
    const archive = join(dir, `saved-${format}.tar`);
    await devboxOk(['image', 'save', '--format', format, '-o', archive, 'to-podman:1']);
    podman(['load', '-i', archive]);
    const theirs = JSON.parse(podman(['image', 'inspect', 'docker.io/library/to-podman:1']))[0];
    assert.equal(theirs.RootFS.Layers, ours.RootFS.Layers);
    // Rootful podman here cannot start containers (runc may not set its rlimits); the peer is rootless podman.
    if (process.getuid!() !== 0) assert.is(podman(['run', '--rm', '--network', 'host', 'docker.io/library/to-podman:1', 'echo', 'in podman']), 'in podman\n');
    podman(['rmi', 'docker.io/library/to-podman:1']);
  }
});

const hostileLayers: [string, TarEntry[]][] = [
  ['an entry that climbs out', [{ name: '../../escaped', content: 'x' }]],
  ['a write through a symlink', [{ name: 'link', type: 'symlink', linkname: '/tmp' }, { name: 'link/escaped', content: 'x' }]],
  ['a hard link out of the layer', [{ name: 'h', type: 'link', linkname: '../../../etc/passwd' }]],
];

for (const [what, entries] of hostileLayers) {
  test(`import refuses ${what}: one line, and the store is unchanged`, async () => {
    const dir = await testDir('hostile');
    const tar = join(dir, 'hostile.tar');
    await writeTar(tar, entries);
    const before = storeSnapshot();
    const r = await devbox(['image', 'import', tar, 'hostile:1']);
    assert.is.not(r.exitCode, 0);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^devbox: .*hostile\.tar: /);
    assert.is(storeSnapshot(), before);
    assert.not.ok(existsSync('/tmp/escaped'));
  });
}

test('a layer whose content does not match its diffID is refused and nothing is kept', async () => {
  const dir = await testDir('corrupt');
  const archive = join(dir, 'corrupt.tar');
  await writeDockerArchive(archive, 'corrupt:1', [busyboxRootfs()]);
  // Rewrite the config so that it names another diffID.
  const extracted = join(dir, 'x');
  execFileSync('mkdir', [extracted]);
  execFileSync('tar', ['-xf', archive, '-C', extracted]);
  const configName = readdirSync(extracted).find((n) => n.endsWith('.json') && n !== 'manifest.json')!;
  const config = JSON.parse(execFileSync('cat', [join(extracted, configName)], { encoding: 'utf8' }));
  config.rootfs.diff_ids[0] = `sha256:${'0'.repeat(64)}`;
  writeFileSync(join(extracted, configName), JSON.stringify(config));
  execFileSync('tar', ['-cf', archive, '-C', extracted, '.']);
  const before = storeSnapshot();
  const r = await devbox(['image', 'load', '-i', archive]);
  assert.is(r.exitCode, 1);
  assert.match(r.stderr, /its content is sha256:[0-9a-f]{64}, but the image config says sha256:0{64}/);
  assert.is(storeSnapshot(), before);
});

test('not an archive: one line naming the file', async () => {
  const dir = await testDir('garbage');
  const path = join(dir, 'garbage.tar');
  writeFileSync(path, 'this is not a tar archive at all'.repeat(100));
  const r = await devbox(['image', 'load', '-i', path]);
  assert.is(r.exitCode, 1);
  assert.match(r.stderr, /garbage\.tar: not a (readable tar archive|docker-archive or oci-archive)/);
});

test('rmi untags a second name, then removes the image and its unpacked layers; a running container keeps it', async () => {
  const dir = await testDir('rmi');
  const archive = join(dir, 'two-names.tar');
  await writeDockerArchive(archive, ['gone:1', 'gone:2'], [[...busyboxRootfs(), { name: 'unique', content: dir }]]);
  await devboxOk(['image', 'load', '-i', archive]);
  const info = await inspect('gone:1');
  const layer = layerPath(info.RootFS.Layers[0]);
  assert.is((await devboxOk(['rmi', 'gone:2'])).stdout, 'Untagged: gone:2\n');
  assert.ok(existsSync(layer));

  const running = spawn(process.execPath, [DEVBOX_BIN, 'run', '--rm', 'gone:1', 'sh', '-c', 'echo up; sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((resolve) => running.stdout.once('data', resolve));
  const refused = await devbox(['rmi', 'gone:1']);
  assert.is(refused.exitCode, 1);
  assert.match(refused.stderr, /in use by a running container/);
  running.kill('SIGTERM');
  await new Promise((resolve) => running.once('close', resolve));

  assert.match((await devboxOk(['rmi', 'gone:1'])).stdout, /^Untagged: gone:1\nDeleted: sha256:/);
  assert.not.ok(existsSync(layer), 'the unpacked layer is still there');
  assert.not.ok(existsSync(`${layer}.json`));
  assert.is((await devbox(['image', 'inspect', info.Id])).exitCode, 125);
});

test('images lists names, short ids and sizes', async () => {
  const dir = await testDir('list');
  const tar = join(dir, 'rootfs.tar');
  await writeTar(tar, busyboxRootfs());
  await devboxOk(['image', 'import', tar, 'listed:7']);
  const out = (await devboxOk(['images'])).stdout.split('\n');
  assert.match(out[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  assert.ok(out.some((l) => /^listed\s+7\s+[0-9a-f]{12}\s+Less than a minute ago\s+\d/.test(l)), out.join('\n'));
});

test.run();
