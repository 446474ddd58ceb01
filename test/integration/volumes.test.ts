/**
 * Volumes end to end, as the unprivileged user running the suite: named volumes made on first use and filled
 * from the image, anonymous ones (-v /path, the image's VOLUME) going with --rm and rm -v, --mount and --tmpfs,
 * `devbox volume` create/ls/inspect/rm/prune and their errors.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { hostIdFor, resolveIdMapping } from '../../src/userns/idmap.js';
import { devbox, devboxOk } from '../helpers/cli.js';
import { busyboxRootfs, importBusybox, testDir, writeDockerArchive } from '../helpers/images.js';
import { eventually } from '../helpers/network.js';

const IMAGE = 'busybox:latest';
/** An image with content at /srv/data (a directory of uid 1000, mode 0700) that its VOLUME names. */
const DATA_IMAGE = 'with-data:1';
const { mapping } = resolveIdMapping();
const volumesDir = () => join(process.env.XDG_DATA_HOME!, 'devbox', 'volumes');
const volumeNames = () => readdirSync(volumesDir()).filter((n) => !n.startsWith('.'));
const containersDir = () => join(process.env.XDG_DATA_HOME!, 'devbox', 'containers');
const containerIds = () => (existsSync(containersDir()) ? readdirSync(containersDir()) : []);
/** Whether the store's event log has `destroy` for this container: its removal is then complete. */
const destroyed = (id: string) =>
  readFileSync(join(process.env.XDG_DATA_HOME!, 'devbox', 'events.log'), 'utf8')
    .split('\n')
    .some((line) => line.includes(`"${id}"`) && line.includes('"destroy"')) || undefined;

/** Runs a container kept after it exits (other suites' containers and sandboxes share the store): its id. */
async function keptContainer(args: readonly string[]): Promise<string> {
  const before = containerIds();
  await devboxOk(['run', ...args]);
  const made = containerIds().filter((id) => !before.includes(id));
  assert.is(made.length, 1);
  return made[0].slice(0, 12);
}

test.before(async () => {
  await importBusybox(IMAGE);
  const archive = join(await testDir('volume-image'), 'image.tar');
  await writeDockerArchive(
    archive,
    DATA_IMAGE,
    [
      [
        ...busyboxRootfs(),
        { name: 'srv', type: 'directory' },
        { name: 'srv/data', type: 'directory', mode: 0o700, uid: 1000, gid: 1000 },
        { name: 'srv/data/seed', content: 'from the image\n', uid: 1000, gid: 1000 },
        { name: 'srv/data/link', type: 'symlink', linkname: 'seed' },
      ],
    ],
    { Volumes: { '/srv/data': {} } },
  );
  await devboxOk(['image', 'load', '-i', archive]);
});

test('a named volume is made on first use, filled from the image with its ownership, and outlives --rm', async () => {
  const first = await devboxOk([
    'run',
    '--rm',
    '-v',
    'fill-me:/srv/data',
    DATA_IMAGE,
    'sh',
    '-c',
    'stat -c "%u %a" /srv/data; cat /srv/data/seed; echo mine > /srv/data/added',
  ]);
  assert.is(first.stdout, '1000 700\nfrom the image\n');
  // Filled once: what the first container wrote is there, and the image does not come back over it.
  const again = await devboxOk(['run', '--rm', '-v', 'fill-me:/srv/data', IMAGE, 'sh', '-c', 'ls /srv/data; readlink /srv/data/link']);
  assert.is(again.stdout, 'added\nlink\nseed\nseed\n');
  assert.ok(volumeNames().includes('fill-me'));
  // The files belong on the host to the ids the container wrote them as.
  const data = join(volumesDir(), 'fill-me', '_data');
  assert.is(statSync(data).uid, hostIdFor(mapping.uidMap, 1000));
});

test('nocopy and an empty image path leave a new volume empty', async () => {
  assert.is((await devboxOk(['run', '--rm', '-v', 'no-copy:/srv/data:nocopy', DATA_IMAGE, 'ls', '-A', '/srv/data'])).stdout, '');
  assert.is((await devboxOk(['run', '--rm', '--mount', 'src=no-copy-2,dst=/srv/data,volume-nocopy', DATA_IMAGE, 'ls', '-A', '/srv/data'])).stdout, '');
});

test("anonymous volumes (-v /path and the image's VOLUME) go with --rm, and with rm -v", async () => {
  const before = volumeNames();
  const seen = await devboxOk(['run', '--rm', '-v', '/scratch', DATA_IMAGE, 'sh', '-c', 'cat /srv/data/seed; grep -c " /scratch " /proc/mounts']);
  assert.is(seen.stdout, 'from the image\n1\n');
  assert.equal(volumeNames(), before);
  const id = await keptContainer(['-v', '/scratch', DATA_IMAGE, 'true']);
  const made = volumeNames().filter((n) => !before.includes(n));
  assert.is(made.length, 2);
  for (const name of made) assert.match(name, /^[0-9a-f]{64}$/);
  await devboxOk(['rm', '-v', id]);
  assert.equal(volumeNames(), before);
});

test('a detached --rm container takes its anonymous volumes when it ends; one another container still mounts stays', async () => {
  const before = volumeNames();
  const shared = (await devboxOk(['run', '-d', '--rm', '-v', '/anon', IMAGE, 'sleep', '1000'])).stdout.trim();
  const sharedVolume = volumeNames().filter((n) => !before.includes(n));
  assert.is(sharedVolume.length, 1);
  const keeper = await keptContainer(['--volumes-from', shared, IMAGE, 'true']);
  await devboxOk(['stop', '-t', '0', shared]);
  await eventually('the shared container removed', () => destroyed(shared), 30_000);
  assert.not.ok(existsSync(join(containersDir(), shared)));
  assert.ok(volumeNames().includes(sharedVolume[0]), 'the volume the kept container mounts went with the --rm one');
  const own = (await devboxOk(['run', '-d', '--rm', '-v', '/own', IMAGE, 'sleep', '1000'])).stdout.trim();
  assert.is(volumeNames().length, before.length + 2);
  await devboxOk(['stop', '-t', '0', own]);
  await eventually('the second container removed', () => destroyed(own), 30_000);
  assert.equal(volumeNames().sort(), [...before, sharedVolume[0]].sort());
  await devboxOk(['rm', '-v', keeper]);
  assert.equal(volumeNames().sort(), [...before].sort());
  // Created with --rm, started attached: gone, with its volume, when start -a returns.
  const created = (await devboxOk(['create', '--rm', '-v', '/attached', IMAGE, 'true'])).stdout.trim();
  assert.is(volumeNames().length, before.length + 1);
  await devboxOk(['start', '-a', created]);
  assert.equal([existsSync(join(containersDir(), created)), volumeNames().sort()], [false, [...before].sort()]);
});

test('--mount and --tmpfs: read-only binds, tmpfs size and mode, noexec by default for --tmpfs', async () => {
  const dir = await testDir('mount');
  writeFileSync(join(dir, 'file'), 'host\n');
  const r = await devbox([
    'run',
    '--rm',
    '--mount',
    `type=bind,src=${dir},dst=/host,readonly,bind-propagation=rprivate`,
    '--mount',
    'type=tmpfs,dst=/fast,tmpfs-size=1m,tmpfs-mode=0700',
    '--tmpfs',
    '/run/x:size=2m',
    IMAGE,
    'sh',
    '-c',
    'cat /host/file; touch /host/new 2>/dev/null || echo read-only; stat -c %a /fast; grep -E " /(fast|run/x) " /proc/mounts',
  ]);
  assert.is(r.exitCode, 0, r.stderr);
  const [content, ro, mode, ...mounts] = r.stdout.trim().split('\n');
  assert.equal([content, ro, mode], ['host', 'read-only', '700']);
  assert.match(mounts.find((m) => m.includes(' /fast '))!, /size=1024k/);
  assert.match(mounts.find((m) => m.includes(' /run/x '))!, /nosuid,nodev,noexec.*size=2048k/);
});

test('bad mount specifications are one line and status 125', async () => {
  for (const [args, message] of [
    [['-v', '/a:/b:/c:/d'], 'devbox: invalid volume specification "/a:/b:/c:/d": expected [SRC:]DST[:OPTIONS] (see "devbox run --help")\n'],
    [
      ['--mount', 'type=bind,dst=/x'],
      'devbox: invalid argument "type=bind,dst=/x" for "--mount" flag: a bind mount needs source=PATH (see "devbox run --help")\n',
    ],
    [['-v', '/tmp:/x:rshared'], /not possible rootless/],
    [['-v', 'v1:/x', '-v', 'v2:/x'], 'devbox: duplicate mount point: /x (mount one thing at each path)\n'],
  ] as const) {
    const r = await devbox(['run', '--rm', ...args, IMAGE, 'true']);
    assert.is(r.exitCode, 125, args.join(' '));
    if (typeof message === 'string') assert.is(r.stderr, message);
    else assert.match(r.stderr, message);
    assert.is(r.stderr.trim().split('\n').length, 1);
  }
});

test('volume create/ls/inspect: names, labels, Docker shapes and templates', async () => {
  assert.is((await devboxOk(['volume', 'create', '--label', 'team=web', 'labelled'])).stdout, 'labelled\n');
  assert.is((await devboxOk(['volume', 'create', 'labelled'])).stdout, 'labelled\n', 'an existing volume is given back');
  const [shape] = JSON.parse((await devboxOk(['volume', 'inspect', 'labelled'])).stdout) as Record<string, unknown>[];
  assert.equal(Object.keys(shape), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
  assert.equal([shape.Name, shape.Driver, shape.Labels, shape.Scope], ['labelled', 'local', { team: 'web' }, 'local']);
  assert.is(
    (await devboxOk(['volume', 'inspect', '-f', '{{.Labels.team}} {{.Mountpoint}}', 'labelled'])).stdout,
    `web ${join(volumesDir(), 'labelled', '_data')}\n`,
  );
  const table = (await devboxOk(['volume', 'ls', '--filter', 'label=team=web'])).stdout.split('\n');
  assert.match(table[0], /^DRIVER\s+VOLUME NAME$/);
  assert.match(table[1], /^local\s+labelled$/);
  assert.is((await devboxOk(['volume', 'ls', '-q', '--filter', 'name=abell'])).stdout, 'labelled\n');
  assert.is((await devboxOk(['volume', 'ls', '--format', '{{.Name}}:{{.Labels}}', '--filter', 'label=team'])).stdout, 'labelled:team=web\n');
  const missing = await devbox(['volume', 'inspect', 'no-such-volume']);
  assert.equal([missing.exitCode, missing.stderr], [1, 'devbox: no such volume: no-such-volume (see "devbox volume ls")\n']);
  const badFilter = await devbox(['volume', 'ls', '--filter', 'color=red']);
  assert.is(badFilter.exitCode, 125);
  assert.match(badFilter.stderr, /^devbox: invalid filter 'color=red'/);
});

test("--volumes-from mounts another container's volumes where it has them, :ro for all; rm -v keeps an anonymous one still in use", async () => {
  const before = volumeNames();
  const source = await keptContainer(['-v', 'from-shared:/shared', '-v', '/anon', IMAGE, 'sh', '-c', 'echo named > /shared/f; echo anon > /anon/f']);
  const anon = volumeNames().filter((n) => !before.includes(n) && n !== 'from-shared');
  assert.is(anon.length, 1);
  const reader = await keptContainer([
    '--volumes-from',
    `${source}:ro`,
    IMAGE,
    'sh',
    '-c',
    'cat /shared/f /anon/f; touch /anon/x 2>/dev/null || echo read-only',
  ]);
  assert.is((await devboxOk(['logs', reader])).stdout, 'named\nanon\nread-only\n');
  const mounts = await devboxOk(['inspect', '-f', '{{range .Mounts}}{{.Name}}:{{.Destination}}:{{.RW}} {{end}}', reader]);
  assert.equal(mounts.stdout.trim().split(' ').sort(), [`${anon[0]}:/anon:false`, 'from-shared:/shared:false']);
  await devboxOk(['rm', '-v', reader]);
  assert.ok(volumeNames().includes(anon[0]), 'the anonymous volume its first container still has went');
  await devboxOk(['rm', '-v', source]);
  assert.equal(volumeNames().sort(), [...before, 'from-shared'].sort());
  await devboxOk(['volume', 'rm', 'from-shared']);
  const missing = await devbox(['run', '--rm', '--volumes-from', 'no-such-container', IMAGE, 'true']);
  assert.equal([missing.exitCode, missing.stderr.split('\n')[0]], [125, 'devbox: no such container: no-such-container (see "devbox ps -a")']);
});

test('volume rm refuses a volume a container uses, by name; prune keeps named volumes unless --all', async () => {
  const id = await keptContainer(['-v', 'held:/data', IMAGE, 'true']);
  const refused = await devbox(['volume', 'rm', 'held']);
  assert.is(refused.exitCode, 1);
  assert.is(refused.stderr, `devbox: remove held: volume is in use - [${id}] (remove those containers first ("devbox rm"))\n`);
  assert.ok(volumeNames().includes('held'));
  // Each name on its own, as Docker: a missing one does not keep the other from going.
  await devboxOk(['rm', id]);
  const mixed = await devbox(['volume', 'rm', 'held', 'never-made']);
  assert.equal([mixed.exitCode, mixed.stdout], [1, 'held\n']);
  assert.match(mixed.stderr, /no such volume: never-made/);
  await devboxOk(['volume', 'create', 'kept-by-prune']);
  const anonId = await keptContainer(['-v', '/anon', IMAGE, 'true']);
  await devboxOk(['rm', anonId]); // without -v: its anonymous volume stays, unused
  const pruned = (await devboxOk(['volume', 'prune', '-f'])).stdout;
  assert.match(pruned, /^Deleted Volumes:\n[0-9a-f]{64}\n\nTotal reclaimed space: /);
  assert.ok(volumeNames().includes('kept-by-prune'));
  const all = (await devboxOk(['volume', 'prune', '-af', '--filter', 'name=kept-by'])).stdout;
  assert.match(all, /^Deleted Volumes:\nkept-by-prune\n/);
  assert.not.ok(volumeNames().includes('kept-by-prune'));
});

test.run();
