/**
 * `devbox version`, `info`, `events` and `pause`/`unpause` against real containers: a detached busybox whose
 * create/start/die/stop appear in the store's event log, events followed as they are appended, and the machine
 * facts info reports checked against what the machine and `devbox run` do.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { arch, release, userInfo } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { DEVBOX_BIN, devbox, devboxOk } from '../helpers/cli.js';
import { importBusybox } from '../helpers/images.js';
import { test } from '../helpers/test.js';

const IMAGE = 'info-busybox:latest';
const store = () => join(process.env.XDG_DATA_HOME!, 'devbox');
const started: string[] = [];

async function runDetached(name: string): Promise<string> {
  const id = (await devboxOk(['run', '-d', '--name', name, IMAGE, 'sleep', '300'])).stdout.trim();
  started.push(id);
  return id;
}

/** This container's events, as `{{.Action}}` lines, between two times. */
async function actions(name: string, since: string, until = '0s'): Promise<string[]> {
  const out = await devboxOk(['events', '--since', since, '--until', until, '--filter', `container=${name}`, '--format', '{{.Action}}']);
  return out.stdout.split('\n').filter(Boolean);
}

test.before(async () => {
  await importBusybox(IMAGE);
});

test.after(async () => {
  for (const id of started) await devbox(['rm', '-f', id]);
});

test('version: devbox, Node.js and OS/arch, as text, --format and --json', async () => {
  const text = (await devboxOk(['version'])).stdout;
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  assert.match(text, new RegExp(`Version:\\s+${pkg.version.replace(/\./g, '\\.')}`));
  assert.match(text, `Node.js:        ${process.version}`);
  assert.is((await devboxOk(['version', '--format', '{{.Client.NodeVersion}} {{.Client.KernelVersion}}'])).stdout.trim(), `${process.version} ${release()}`);
  const json = JSON.parse((await devboxOk(['version', '--json'])).stdout);
  assert.is(json.Client.Arch, arch() === 'x64' ? 'amd64' : arch());
  assert.match(json.Engine.Helper, /devbox-helper$/);
});

test('info: counts, the storage driver `run` used, id maps, network and cgroups true to this machine', async () => {
  const id = await runDetached('info-counted');
  const info = JSON.parse((await devboxOk(['info', '--json'])).stdout);
  const count = async (args: string[]) => (await devboxOk(['ps', '-a', '-q', '--no-trunc', ...args])).stdout.split('\n').filter(Boolean).length;
  assert.is(info.ContainersRunning, await count(['--filter', 'status=running']));
  assert.is(info.Containers, await count(['--filter', 'name=']));
  assert.is(info.ContainersStopped, info.Containers - info.ContainersRunning);
  assert.ok(info.ContainersRunning >= 1);
  const record = JSON.parse(readFileSync(join(store(), 'containers', id, 'config.json'), 'utf8'));
  assert.is(info.Driver, record.storage);
  assert.is(info.DevboxRootDir, store());
  // The id map: the caller's own uid is in it (keep-id layout, root's identity map, or the single id).
  const uid = process.getuid!();
  const hasSubuid =
    uid === 0 ||
    readFileSync('/etc/subuid', 'utf8')
      .split('\n')
      .some((l) => l.startsWith(`${userInfo().username}:`) || l.startsWith(`${uid}:`));
  assert.is(info.IdMaps.Subordinate, hasSubuid);
  assert.ok(
    info.IdMaps.UidMap.split(',').some((e: string) => {
      const [, outside, n] = e.split(':').map(Number);
      return uid >= outside && uid < outside + n;
    }),
  );
  const cgroupMounts = readFileSync('/proc/self/mounts', 'utf8');
  const unified = / \/sys\/fs\/cgroup cgroup2 /.test(cgroupMounts);
  assert.is(info.CgroupVersion, unified ? '2' : '1');
  if (!unified) assert.equal(info.Limits, []);
  assert.is((await devboxOk(['info', '--format', '{{.Driver}}'])).stdout.trim(), record.storage);
  assert.is((await devbox(['info', '--format', '{{.Driver'])).exitCode, 125);
});

test('events: create, start, die and stop of a detached container, in order, with --since/--until and filters', async () => {
  const since = new Date().toISOString();
  const id = await runDetached('info-events');
  await devboxOk(['stop', '-t', '1', 'info-events']);
  const seen = await actions('info-events', since);
  assert.equal(
    seen.filter((a) => ['create', 'start', 'die', 'stop'].includes(a)),
    ['create', 'start', 'die', 'stop'],
  );
  // The id filter and the name filled into the supervisor's lines.
  const lines = (await devboxOk(['events', '--since', since, '--until', '0s', '--filter', `container=${id.slice(0, 12)}`, '--filter', 'event=die'])).stdout;
  assert.match(lines, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:]+\\.\\d{9}Z container die ${id} \\(.*name=info-events.*\\)$`, 'm'));
  assert.is(lines.trim().split('\n').length, 1);
  // --until before the container existed shows none of its events; type=image matches none of them.
  assert.equal(await actions('info-events', '1h', since), []);
  const none = await devboxOk(['events', '--since', since, '--until', '0s', '--filter', 'type=image', '--filter', 'container=info-events']);
  assert.is(none.stdout, '');
  const json = (
    await devboxOk(['events', '--since', since, '--until', '0s', '--filter', 'container=info-events', '--filter', 'event=create', '--format', 'json'])
  ).stdout;
  const event = JSON.parse(json);
  assert.is(event.Actor.ID, id);
  assert.is(event.Actor.Attributes.image, IMAGE);
  assert.is(typeof event.timeNano, 'number');
  assert.is(Math.floor(event.timeNano / 1e9), event.time);
  assert.is((await devbox(['events', '--filter', 'colour=red', '--until', '0s'])).exitCode, 125);
});

/** Starts `devbox events` following; resolves `lines` as they arrive. */
function follow(args: string[]) {
  const child = spawn(process.execPath, [DEVBOX_BIN, 'events', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: { match: RegExp; resolve: () => void }[] = [];
  child.stdout.on('data', (d) => {
    out += d;
    for (const w of waiters.filter((w) => w.match.test(out))) w.resolve();
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const seen = (match: RegExp) =>
    new Promise<void>((resolve, reject) => {
      if (match.test(out)) return resolve();
      const timer = setTimeout(() => reject(new Error(`events never printed ${match}: ${out}`)), 15_000);
      waiters.push({
        match,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  return { child, seen, exited, output: () => out };
}

test('events follows: an event made after it printed is printed too; a signal ends it, and so does --until', async () => {
  const since = new Date().toISOString();
  const watcher = follow(['--since', since, '--filter', 'container=info-follow', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
  await runDetached('info-follow');
  await watcher.seen(/^start info-follow$/m);
  // Made after the follower printed the start: it can only come from watching the log.
  await devboxOk(['stop', '-t', '1', 'info-follow']);
  await watcher.seen(/^stop info-follow$/m);
  watcher.child.kill('SIGTERM');
  assert.is(await watcher.exited, 0);
  assert.match(watcher.output(), /^create info-follow\nstart info-follow\n/);
  // --until a little ahead: it follows, then ends by itself at that time.
  const soon = follow(['--until', new Date(Date.now() + 1500).toISOString(), '--filter', 'container=info-follow']);
  assert.is(await soon.exited, 0);
});

test('pause and unpause are refused in one line with why (no cgroup freezer), status 125; the container runs on', async () => {
  const id = await runDetached('info-pause');
  for (const verb of ['pause', 'unpause']) {
    const result = await devbox([verb, 'info-pause']);
    assert.is(result.exitCode, 125);
    assert.is(result.stderr.trim().split('\n').length, 1);
    assert.match(result.stderr, new RegExp(`cannot ${verb} info-pause: ${verb} needs the cgroup freezer`));
    assert.match(result.stderr, /cgroup/);
  }
  assert.is((await devboxOk(['inspect', '-f', '{{.State.Status}}', id])).stdout.trim(), 'running');
  assert.is((await devbox(['pause', 'no-such-container'])).exitCode, 125);
});

test.run();
