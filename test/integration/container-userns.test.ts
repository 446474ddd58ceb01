/**
 * --userns for real, as the user running the suite: the id map each mode gives (read from /proc/self/uid_map
 * inside), who the command runs as, who owns on the host what it writes into a bind mount, what inspect and
 * exec see, and bad values refused before anything is made. The assertions follow the caller: root (every
 * map is the identity), a user with subordinate ids, or a user without them (run the suite as such a user).
 */
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { devbox, devboxOk } from '../helpers/cli.js';
import { assertOneLineFailure } from '../helpers/errors.js';
import { importBusybox, testDir } from '../helpers/images.js';
import { test } from '../helpers/test.js';
import { inHostIds, liveStoreOwner, type StoreOwner } from '../helpers/owner.js';
import { resolveIdMapping } from '../../src/userns/idmap.js';

const IMAGE = 'userns-busybox:latest';
const uid = process.getuid!();
const gid = process.getgid!();
const root = uid === 0;
const subordinate = resolveIdMapping().mapping.full;
const nested = subordinate && !root;
const started: string[] = [];
const projects: string[] = [];
const built: string[] = [];

/**
 * uid_map inside as "inside:outside:count" entries in host ids, and the command's uid and gid. A rootless
 * container with subordinate ids is made in the store's user namespace owner's namespace: its map, read
 * inside, is said in the owner's ids (root inside is the owner's root, 0:0:1), which the owner's map says again in
 * the host's.
 */
async function inside(userns: string[], extra: string[] = []): Promise<{ map: string[]; uid: number; gid: number; name: string }> {
  const out = await devboxOk(['run', '--rm', ...userns, ...extra, IMAGE, 'sh', '-c', 'id -u; id -g; id -un; cat /proc/self/uid_map']);
  const [u, g, name, ...lines] = out.stdout.trim().split('\n');
  const map = lines.map((l) => l.trim().split(/\s+/).join(':'));
  return { uid: Number(u), gid: Number(g), name, map: nested ? inHostIds(map, requireOwner().idMapping.uidMap) : map };
}

function requireOwner(): StoreOwner {
  const owner = liveStoreOwner();
  assert.ok(owner, 'a rootless container with subordinate ids starts the store owner');
  return owner!;
}

test.before(async () => {
  await importBusybox(IMAGE);
});

test.after(async () => {
  for (const id of started) await devbox(['rm', '-f', id]);
  for (const folder of projects) await devbox(['rm', '--force'], { cwd: folder });
  for (const image of built) await devbox(['rmi', '--force', image]);
});

test('the default map: root inside is the caller, then the subordinate ids (root: the identity map)', async () => {
  const got = await inside([]);
  assert.is(got.uid, 0);
  if (root) assert.equal(got.map, ['0:0:65536']);
  else assert.is(got.map[0], `0:${uid}:1`, got.map.join(' '));
  if (subordinate && !root) assert.ok(got.map.length > 1 && got.map.every((e) => !e.startsWith(`${uid}:${uid}:`)), got.map.join(' '));
});

test('--userns=host: root inside is the caller, then the subordinate ids; no warning without them', async () => {
  const result = await devboxOk(['run', '--rm', '--userns=host', IMAGE, 'sh', '-c', 'id -u; head -n 1 /proc/self/uid_map']);
  assert.is(result.stderr, '');
  const [u, first] = result.stdout.trim().split('\n');
  assert.is(Number(u), 0);
  const entry = first.trim().split(/\s+/).join(':');
  assert.is(nested ? inHostIds([entry], requireOwner().idMapping.uidMap)[0] : entry, root ? '0:0:65536' : `0:${uid}:1`);
});

test('--userns=keep-id: runs as the caller, known to /etc/passwd by name; uid=N,gid=N moves them', async () => {
  if (!root && !subordinate) {
    const before = (await devboxOk(['ps', '-a', '-q', '--no-trunc'])).stdout;
    assertOneLineFailure(await devbox(['run', '--rm', '--userns=keep-id', IMAGE, 'true']), /^devbox: --userns=keep-id needs subordinate ids/, 125);
    assert.is((await devboxOk(['ps', '-a', '-q', '--no-trunc'])).stdout, before);
    return;
  }
  const self = await inside(['--userns=keep-id']);
  assert.equal([self.uid, self.gid, self.name], [uid, gid, userInfo().username]);
  if (root) return; // as root the ids inside are already the caller's: uid= and gid= are refused (below)
  const moved = await inside(['--userns=keep-id:uid=1000,gid=1000']);
  assert.equal([moved.uid, moved.gid, moved.name], [1000, 1000, userInfo().username]);
  assert.ok(moved.map.includes(`1000:${uid}:1`), moved.map.join(' '));
  // --user still wins, as with podman.
  assert.is((await inside(['--userns=keep-id'], ['-u', '0'])).uid, 0);
});

test('what the command writes into a bind mount as root (default, host) or as itself (keep-id) is the caller’s on the host', async () => {
  const dir = await testDir('userns-bind');
  chmodSync(dir, 0o777); // so that a file not the caller's could be written, and seen
  const modes = root || subordinate ? ['default', 'host', 'keep-id'] : ['default', 'host'];
  for (const mode of modes) {
    await devboxOk(['run', '--rm', ...(mode === 'default' ? [] : [`--userns=${mode}`]), '-v', `${dir}:/data`, IMAGE, 'touch', `/data/${mode}`]);
    const st = statSync(join(dir, mode));
    assert.equal([st.uid, st.gid], [uid, gid], mode);
  }
  if (subordinate && !root) {
    // Any other user inside is a subordinate id.
    await devboxOk(['run', '--rm', '-u', '1:1', '-v', `${dir}:/data`, IMAGE, 'touch', '/data/other']);
    assert.is.not(statSync(join(dir, 'other')).uid, uid);
  }
});

test('a detached container keeps its map: exec runs as its user, inspect shows the mode', async () => {
  const mode = root || subordinate ? 'keep-id' : 'host';
  const id = (await devboxOk(['run', '-d', `--userns=${mode}`, IMAGE, 'sleep', '300'])).stdout.trim();
  started.push(id);
  assert.is((await devboxOk(['exec', id, 'id', '-u'])).stdout.trim(), String(mode === 'keep-id' ? uid : 0));
  assert.is((await devboxOk(['inspect', '-f', '{{.HostConfig.UsernsMode}}', id])).stdout.trim(), mode);
  // An id the map does not hold is devbox's one line, not the helper's setgid error.
  assertOneLineFailure(await devbox(['exec', '-u', '70000', id, 'true']), /^devbox: user 70000:0 is not mapped into the user namespace/, 1);
  // keep-id's own /etc/passwd is no mount the user gave.
  assert.equal(JSON.parse((await devboxOk(['inspect', '-f', '{{json .Mounts}}', id])).stdout), []);
});

test('bad --userns values: one line, status 125, no container made', async () => {
  const before = (await devboxOk(['ps', '-a', '-q', '--no-trunc'])).stdout;
  const cases: [string, RegExp][] = [
    ['private-ish', /^devbox: unsupported --userns "private-ish"/],
    ['keep-id:uid=x', /^devbox: invalid --userns "keep-id:uid=x": "uid=x" is not uid=N or gid=N/],
  ];
  if (root) cases.push(['keep-id:uid=1000', /^devbox: --userns=keep-id:uid=,gid= is for rootless use/]);
  for (const [value, message] of cases) assertOneLineFailure(await devbox(['run', '-d', `--userns=${value}`, IMAGE, 'true']), message, 125);
  assert.is((await devboxOk(['ps', '-a', '-q', '--no-trunc'])).stdout, before);
});

test("a Dockerfile's RUN steps run under the build's map, as root unless USER says otherwise", async () => {
  const dir = await testDir('userns-build');
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${IMAGE}\nRUN id -u > /who-built\n`);
  built.push('userns-built:latest');
  await devboxOk(['build', '-q', '-t', 'userns-built:latest', dir]);
  assert.is((await devboxOk(['run', '--rm', 'userns-built:latest', 'cat', '/who-built'])).stdout.trim(), '0');
  // A USER the map does not hold: the step's one line, not the helper's.
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${IMAGE}\nUSER 70000\nRUN true\n`);
  const failed = await devbox(['build', '-q', dir]);
  const stderr = failed.stderr.replace(/^devbox: warning: no subordinate ids .*\n/, ''); // the single-id map's warning
  assertOneLineFailure({ ...failed, stderr }, /^devbox: Dockerfile:3: RUN true: user 70000:0 is not mapped into the user namespace/, 1);
});

test("a project's sandbox: its entries run as the project map's user, `-u root` as root", async () => {
  const folder = await testDir('userns-project');
  mkdirSync(join(folder, '.devbox'));
  writeFileSync(join(folder, 'devbox.json'), JSON.stringify({ name: 'userns' }));
  writeFileSync(join(folder, '.devbox', 'Dockerfile'), `FROM ${IMAGE}\nRUN touch /built\n`);
  projects.push(folder);
  // keep-id as a user with subordinate ids, the single-id map (root inside) without them, identity as root.
  const expected = subordinate && !root ? uid : 0;
  assert.is((await devboxOk(['run', 'sh', '-c', 'id -u; ls /built'], { cwd: folder })).stdout, `${expected}\n/built\n`);
  assert.is((await devboxOk(['run', '-u', 'root', 'id', '-u'], { cwd: folder })).stdout.trim(), '0');
});

test.run();
