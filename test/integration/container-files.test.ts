/**
 * A container's files, end to end, as the unprivileged user running the suite: `cp` both ways (through a
 * symlink in the image that points at /), `diff` after writes and removals, `commit` and a run of the result,
 * `export` and `import` round trip compared file by file, the errors Docker gives, and a differential run of
 * the same container under rootless podman compared on what users see (diff, export, cp).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import type tar from 'tar-stream';
import { flattenArchive, type TreeEntry } from '../helpers/build.js';
import { createImageSuite, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, readTar, writeDockerArchive } from '../helpers/images.js';

let suite: ImageSuite;
const IMAGE = 'localhost/files-base:1';
/** What the container does: a file added, one changed, one removed, a directory made, a symlink. */
const SCRIPT = 'echo new > /root/new; echo changed >> /etc/motd; rm /etc/gone; mkdir -p /srv/made; ln -s /root/new /srv/made/link';

const fixtures = once(async () => {
  suite = await createImageSuite('container-files');
  const archive = join(await suite.tempDir('image'), 'image.tar');
  await writeDockerArchive(archive, IMAGE, [
    [
      ...busyboxRootfs(),
      { name: 'etc/motd', content: 'hello\n' },
      { name: 'etc/gone', content: 'bye\n' },
      { name: 'srv', type: 'directory' },
      // An image's symlink to /: whatever is copied through it must stay inside the container.
      { name: 'evil', type: 'symlink', linkname: '/' },
    ],
  ]);
  await suite.devboxOk(['image', 'load', '-i', archive]);
  suite.podman(['load', '-i', archive]);
});

test.before.each(fixtures);

test.after(async () => {
  await suite?.cleanup();
});

/** A stopped container that ran SCRIPT; its id. */
async function changedContainer(): Promise<string> {
  await suite.devboxOk(['run', '--network', 'none', IMAGE, 'sh', '-c', SCRIPT]);
  return (await suite.devboxOk(['ps', '-a', '-q'])).stdout.split('\n')[0];
}

async function tarHeaders(data: Buffer): Promise<Map<string, tar.Header & { content: string }>> {
  return new Map((await readTar(data)).map(({ header, content }) => [header.name.replace(/^\.\//, '').replace(/\/$/, ''), { ...header, content }]));
}

function stdoutBuffer(args: readonly string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    import('node:child_process').then(({ spawn }) => {
      const child = spawn(process.execPath, [join(import.meta.dirname, '../../../bin/devbox'), ...args], {
        env: { ...process.env, XDG_DATA_HOME: join(suite.dir, 'data'), XDG_CONFIG_HOME: join(suite.dir, 'config') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d) => (err += d));
      child.once('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`devbox ${args.join(' ')}: ${code} ${err}`))));
    }, reject);
  });
}

test('diff lists what the container added, changed and removed, as Docker does', async () => {
  const id = await changedContainer();
  const diff = (await suite.devboxOk(['diff', id])).stdout.trim().split('\n');
  assert.equal(diff, ['C /etc', 'D /etc/gone', 'C /etc/motd', 'C /root', 'A /root/new', 'C /srv', 'A /srv/made', 'A /srv/made/link']);
});

test('cp out and in, through a symlink to / in the image, never reaches the host', async () => {
  const id = await changedContainer();
  const host = await suite.tempDir('host');
  writeFileSync(join(host, 'secret'), 'host secret\n');
  // Out: /evil/root/new is the container's /root/new; /evil<host dir>/secret does not exist in the container.
  await suite.devboxOk(['cp', `${id}:/evil/root/new`, join(host, 'copied')]);
  assert.is(readFileSync(join(host, 'copied'), 'utf8'), 'new\n');
  const out = await suite.devbox(['cp', `${id}:/evil${host}/secret`, join(host, 'leaked')]);
  assert.equal([out.exitCode, out.stderr], [1, `devbox: could not find the file /evil${host}/secret in container ${id}\n`]);
  // In: into /evil/srv is the container's /srv; a host directory named through /evil is not there.
  await suite.devboxOk(['cp', join(host, 'copied'), `${id}:/evil/srv/`]);
  const back = await tarHeaders(await stdoutBuffer(['cp', `${id}:/srv/copied`, '-']));
  assert.equal([back.get('copied')?.content, back.get('copied')?.uid, back.get('copied')?.gid], ['new\n', 0, 0]);
  const into = await suite.devbox(['cp', join(host, 'copied'), `${id}:/evil${host}/`]);
  assert.is(into.exitCode, 1);
  assert.match(into.stderr, /^devbox: no such directory/);
  assert.equal(readFileSync(join(host, 'secret'), 'utf8'), 'host secret\n');
});

test('cp follows Docker: a directory onto a new name, dir/. for its contents, -a for the image user, - for a tar', async () => {
  const id = await changedContainer();
  const host = await suite.tempDir('dirs');
  await suite.devboxOk(['cp', `${id}:/srv/made`, join(host, 'renamed')]);
  assert.is(readlinkSync(join(host, 'renamed', 'link')), '/root/new');
  await suite.devboxOk(['cp', `${id}:/etc/.`, join(host, 'renamed')]);
  assert.is(readFileSync(join(host, 'renamed', 'motd'), 'utf8'), 'hello\nchanged\n');
  const fromStdin = await suite.devbox(['cp', '-', `${id}:/root`], { input: readFileSync(join(host, 'renamed', 'motd')).toString() });
  assert.is(fromStdin.exitCode, 1, 'not a tar');
  const tarred = await stdoutBuffer(['cp', `${id}:/root`, '-']);
  assert.equal([...(await tarHeaders(tarred)).keys()].sort(), ['root', 'root/new']);
});

test('commit makes the writable layer a layer of a new image, with -c, -m and -a, and the result runs', async () => {
  const id = await changedContainer();
  const image = (
    await suite.devboxOk([
      'commit',
      '-m',
      'with a new file',
      '-a',
      'Ana <ana@example.com>',
      '-c',
      'CMD ["cat", "/root/new"]',
      '-c',
      'ENV MADE=yes',
      id,
      'localhost/committed:1',
    ])
  ).stdout.trim();
  assert.match(image, /^sha256:[0-9a-f]{64}$/);
  assert.is((await suite.devboxOk(['run', '--rm', 'localhost/committed:1'])).stdout, 'new\n');
  const check = await suite.devboxOk([
    'run',
    '--rm',
    'localhost/committed:1',
    'sh',
    '-c',
    'echo $MADE; cat /etc/motd; ls /etc/gone 2>&1; readlink /srv/made/link',
  ]);
  assert.equal(check.stdout.trim().split('\n'), ['yes', 'hello', 'changed', 'ls: /etc/gone: No such file or directory', '/root/new']);
  const [inspected] = JSON.parse((await suite.devboxOk(['image', 'inspect', 'localhost/committed:1'])).stdout) as { Author?: string; Comment?: string }[];
  assert.ok(JSON.stringify(inspected).includes('with a new file'), JSON.stringify(inspected));
  const bad = await suite.devbox(['commit', '-c', 'RUN true', id]);
  assert.is(bad.exitCode, 125);
  assert.match(bad.stderr, /^devbox: invalid change "RUN true": RUN cannot be changed here/);
});

test('export and import round trip: the imported image has the exported files, file by file', async () => {
  const id = await changedContainer();
  const exported = await stdoutBuffer(['export', id]);
  const files = await tarHeaders(exported);
  assert.ok(files.has('root/new') && !files.has('etc/gone'), [...files.keys()].join(' '));
  const dir = await suite.tempDir('export');
  writeFileSync(join(dir, 'export.tar'), exported);
  // As users pipe it: export | import -.
  const bin = `${process.execPath} ${join(import.meta.dirname, '../../../bin/devbox')}`;
  const imported = execFileSync('sh', ['-c', `${bin} export ${id} | ${bin} import -c 'CMD ["cat", "/etc/motd"]' - localhost/imported:1`], {
    env: { ...process.env, XDG_DATA_HOME: join(suite.dir, 'data'), XDG_CONFIG_HOME: join(suite.dir, 'config') },
    encoding: 'utf8',
  });
  assert.match(imported, /^sha256:[0-9a-f]{64}\n$/);
  await suite.devboxOk(['image', 'save', '-o', join(dir, 'saved.tar'), 'localhost/imported:1']);
  const { tree, config } = await flattenArchive(readFileSync(join(dir, 'saved.tar')));
  assert.equal(config.Cmd, ['cat', '/etc/motd']);
  for (const [name, header] of files) {
    const entry = tree.get(name) as TreeEntry | undefined;
    assert.ok(entry, `${name} missing from the imported image`);
    assert.equal([entry.type, entry.mode, entry.uid, entry.gid], [header.type, header.mode, header.uid, header.gid], name);
  }
  assert.is(tree.size, files.size);
  assert.is((await suite.devboxOk(['run', '--rm', 'localhost/imported:1'])).stdout, 'hello\nchanged\n');
});

test('a running container: cp both ways and export work in its own mount namespace, volume included', async () => {
  const id = (
    await suite.devboxOk([
      'run',
      '-d',
      '--network',
      'none',
      '-v',
      'live-vol:/data',
      IMAGE,
      'sh',
      '-c',
      'echo live > /root/live; echo vol > /data/v; exec sleep 600',
    ])
  ).stdout.trim();
  try {
    const deadline = Date.now() + 30_000;
    while ((await suite.devbox(['exec', id, 'cat', '/data/v'])).stdout !== 'vol\n') {
      assert.ok(Date.now() < deadline, 'the container never wrote its files');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const host = await suite.tempDir('running');
    await suite.devboxOk(['cp', `${id}:/root/live`, join(host, 'live')]);
    await suite.devboxOk(['cp', `${id}:/data/v`, join(host, 'v')]);
    assert.equal([readFileSync(join(host, 'live'), 'utf8'), readFileSync(join(host, 'v'), 'utf8')], ['live\n', 'vol\n']);
    writeFileSync(join(host, 'in'), 'copied in\n');
    await suite.devboxOk(['cp', join(host, 'in'), `${id}:/data/`]);
    assert.is((await suite.devboxOk(['exec', id, 'cat', '/data/in'])).stdout, 'copied in\n');
    const mounts = await suite.devboxOk(['inspect', '-f', '{{range .Mounts}}{{.Type}}:{{.Name}}:{{.Destination}} {{end}}', id]);
    assert.is(mounts.stdout, 'volume:live-vol:/data \n');
    // Export leaves the volume and the kernel file systems out, as mount points.
    const files = await tarHeaders(await stdoutBuffer(['export', id]));
    assert.equal(
      [files.get('root/live')?.content, files.get('data')?.type, files.has('data/v'), files.get('proc')?.type],
      ['live\n', 'directory', false, 'directory'],
    );
    assert.not.ok([...files.keys()].some((name) => name.startsWith('proc/')));
  } finally {
    await suite.devboxOk(['rm', '-f', '-v', id]);
  }
  // rm -v removes anonymous volumes only: the named one stays, with what was copied into it.
  assert.match((await suite.devboxOk(['volume', 'ls', '-q'])).stdout, /^live-vol$/m);
  await suite.devboxOk(['volume', 'rm', 'live-vol']);
});

test('bad input is one line, as Docker words it', async () => {
  const id = await changedContainer();
  for (const [args, status, message] of [
    [['cp', 'no-such-container:/etc/motd', '/tmp'], 1, /^devbox: no such container:? "?no-such-container/],
    [['cp', `${id}:/no/such/file`, '/tmp'], 1, new RegExp(`^devbox: could not find the file /no/such/file in container ${id}`)],
    [['cp', `${id}:/etc/motd`, '/no/such/dir/x'], 1, /^devbox: \/no\/such\/dir: no such file or directory/],
    [['cp', '/etc/hostname', '/tmp/x'], 125, /^devbox: must specify at least one container source/],
    [['diff', 'no-such-container'], 1, /^devbox: no such container:? "?no-such-container/],
    [['export', 'no-such-container'], 1, /^devbox: no such container:? "?no-such-container/],
  ] as const) {
    const r = await suite.devbox(args);
    assert.is(r.exitCode, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

// Rootful podman on this kind of machine cannot start containers (runc rlimits): rootless podman is the peer, so the
// differential runs in the unprivileged pass only.
if (process.getuid!() !== 0)
  test('differential: rootless podman runs the same container; diff, export and cp agree', async () => {
    const id = await changedContainer();
    const name = `files-${Date.now()}`;
    suite.podman(['run', '--name', name, '--network', 'none', IMAGE, 'sh', '-c', SCRIPT]);
    try {
      // podman lists the files it bind-mounts over (/etc/hosts …) and the mount points it made: not the container's doing.
      const theirs = suite
        .podman(['diff', name])
        .trim()
        .split('\n')
        .filter((l) => !/ \/(etc\/(hosts|hostname|resolv\.conf)|run|proc|dev|sys|\.containerenv)$/.test(l))
        .sort();
      const ours = (await suite.devboxOk(['diff', id])).stdout.trim().split('\n').sort();
      assert.equal(ours, theirs);
      const dir = await suite.tempDir('podman');
      suite.podman(['export', '-o', join(dir, 'podman.tar'), name]);
      const podmanFiles = await tarHeaders(readFileSync(join(dir, 'podman.tar')));
      const ourFiles = await tarHeaders(await stdoutBuffer(['export', id]));
      const mine = (files: Map<string, tar.Header & { content: string }>) =>
        [...files]
          // podman adds /etc/mtab and the mount points of what it mounts; Go's tar writer puts the type bits in the mode.
          .filter(([path]) => !/^(etc\/(hosts|hostname|resolv\.conf|mtab)|run|proc|dev|sys|tmp|\.containerenv)(\/|$)/.test(path))
          .map(
            ([path, h]) => `${path} ${h.type} ${(h.mode & 0o7777).toString(8)} ${h.uid}:${h.gid} ${h.type === 'file' ? h.content.length : (h.linkname ?? '')}`,
          )
          .sort();
      assert.equal(mine(ourFiles), mine(podmanFiles));
      suite.podman(['cp', `${name}:/srv/made`, join(dir, 'podman-made')]);
      await suite.devboxOk(['cp', `${id}:/srv/made`, join(dir, 'devbox-made')]);
      assert.is(readlinkSync(join(dir, 'devbox-made', 'link')), readlinkSync(join(dir, 'podman-made', 'link')));
    } finally {
      suite.podman(['rm', '-f', name]);
    }
  });

test.run();
