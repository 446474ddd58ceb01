/**
 * `devbox build` for real, rootless: every RUN in a user-namespace sandbox on kernel overlayfs (and
 * fuse-overlayfs), its changes as a layer, images that `devbox run` runs, the step cache.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { xz } from '@napi-rs/lzma';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { createImageSuite, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, minbaseTar, packTar, writeTar } from '../helpers/images.js';
import { savedLayers, writeContext, type ContextFile } from '../helpers/build.js';
import { assertOneLineFailure } from '../helpers/errors.js';
import { DEVBOX_LAUNCHER } from '../helpers/cli.js';

let suite: ImageSuite;

const fixtures = once(async () => {
  suite = await createImageSuite('build');
  const tar = join(await suite.tempDir('rootfs'), 'rootfs.tar');
  await writeTar(tar, busyboxRootfs());
  await suite.devboxOk(['image', 'import', tar, 'busybox']);
});

test.before.each(fixtures);

test.after(async () => {
  await suite?.cleanup();
});

async function build(dockerfile: string, files: Record<string, ContextFile> = {}, args: string[] = []) {
  const dir = await writeContext(suite, { Dockerfile: dockerfile, ...files });
  const result = await suite.devbox(['build', '--progress=plain', ...args, dir]);
  return { ...result, dir };
}

async function buildOk(dockerfile: string, files: Record<string, ContextFile> = {}, args: string[] = []) {
  const result = await build(dockerfile, files, args);
  if (result.exitCode !== 0) throw new Error(`build failed (${result.exitCode}): ${result.stderr}`);
  return { ...result, id: result.stdout.trim() };
}

async function runIn(image: string, script: string): Promise<string> {
  return (await suite.devboxOk(['run', '--rm', '-u', 'root', image, 'sh', '-c', script])).stdout;
}

test('a built image runs with its CMD, ENV, WORKDIR and USER', async () => {
  const { id } = await buildOk(
    'FROM busybox\nENV GREETING=hello TARGET="the world"\nWORKDIR /app\nCOPY msg.txt ./\nRUN echo "$GREETING, $TARGET" > out.txt\nUSER alice\nCMD ["sh", "-c", "cat msg.txt out.txt; id -un; pwd"]\n',
    { 'msg.txt': 'from the context\n' },
    ['-t', 'greeter:1'],
  );
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  const r = await suite.devboxOk(['run', '--rm', 'greeter:1']);
  assert.is(r.stdout, 'from the context\nhello, the world\nalice\n/app\n');
  const config = (await suite.inspect('greeter:1')) as unknown as { Id: string; Config: Record<string, unknown> };
  assert.is(`sha256:${config.Id}`, id);
  // PATH: every built image has one, Docker's default when the base sets none (as BuildKit and buildah do).
  assert.equal(config.Config.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'GREETING=hello', 'TARGET=the world']);
  assert.is(config.Config.WorkingDir, '/app');
  assert.is(config.Config.User, 'alice');
});

test("--label sets labels on the final image only, over the base's; KEY alone is an empty value", async () => {
  await buildOk('FROM busybox\nLABEL from.base=1 kept=yes\n', {}, ['-t', 'labelled-base']);
  await buildOk('FROM labelled-base\nRUN true\n', {}, [
    '-t',
    'labelled',
    '--label',
    'from.base=2',
    '--label',
    'dev.devbox.inputs-hash=sha256:x=y',
    '--label',
    'empty',
  ]);
  const config = (await suite.inspect('labelled')) as unknown as { Labels: Record<string, string> };
  assert.equal(config.Labels, { 'from.base': '2', kept: 'yes', 'dev.devbox.inputs-hash': 'sha256:x=y', empty: '' });
  const bad = await build('FROM busybox\n', {}, ['--label', '=v']);
  assert.is(bad.exitCode, 125);
  assert.is(bad.stderr, 'devbox: invalid --label "=v" (use --label KEY=VALUE)\n');
});

test('ENTRYPOINT in shell form runs through /bin/sh -c and drops an inherited CMD; MAINTAINER sets the author', async () => {
  await buildOk('FROM busybox\nCMD ["echo", "base"]\n', {}, ['-t', 'with-cmd']);
  await buildOk('FROM with-cmd\nMAINTAINER Jane Doe <jane@example.org>\nENTRYPOINT echo entry "$0"\n', {}, ['-t', 'entry']);
  const config = (await suite.inspect('entry')) as unknown as { Author: string; Config: Record<string, unknown> };
  assert.is(config.Author, 'Jane Doe <jane@example.org>');
  assert.equal(config.Config.Entrypoint, ['/bin/sh', '-c', 'echo entry "$0"']);
  assert.is(config.Config.Cmd, undefined);
  assert.is((await suite.devboxOk(['run', '--rm', 'entry'])).stdout, 'entry /bin/sh\n');
});

test('deletions in a RUN are whiteouts; a directory removed and made again hides what was below', async () => {
  await buildOk('FROM busybox\nRUN rm /etc/group && rm -rf /home && mkdir /home && echo new > /home/only\n', {}, ['-t', 'deleted']);
  // (devbox run binds its own /etc/hosts, /etc/hostname and /etc/resolv.conf)
  assert.is(await runIn('deleted', 'ls /etc | grep -v -e hosts -e hostname -e resolv.conf; ls -A /home'), 'passwd\nonly\n');
  const layers = await savedLayers(suite, 'deleted');
  const top = layers[layers.length - 1].map((e) => e.name);
  assert.ok(top.includes('etc/.wh.group'), top.join(' '));
  assert.ok(top.includes('home/.wh..wh..opq') || top.includes('.wh.home'), top.join(' '));
  assert.ok(top.includes('home/only'));
});

for (const storage of ['native', 'fuse']) {
  test(`ownership, modes, links and FIFOs made by RUN are kept (${storage} storage)`, async () => {
    await suite.devboxOk(['config', 'set', 'storage', storage]);
    try {
      await buildOk(
        `FROM busybox\nRUN echo ${storage} > /tmp/x && mkdir -p /srv/d && echo s > /srv/d/f && chown -R 1000:10 /srv/d && chmod 4750 /srv/d/f && ln -s d/f /srv/link && ln /srv/d/f /srv/hard && mkfifo -m 640 /srv/pipe\nRUN rm -rf /home && mkdir /home && echo only > /home/only && cat /tmp/x > /from-tmp\n`,
        {},
        ['-t', `owned-${storage}`],
      );
    } finally {
      await suite.devboxOk(['config', 'unset', 'storage']);
    }
    // (a step's /tmp is the image's, so the second RUN sees what the first left there)
    const out = await runIn(
      `owned-${storage}`,
      'cat /from-tmp; stat -c "%n %u:%g %a %F" /srv/d /srv/d/f /srv/link /srv/pipe; stat -c %h /srv/hard; readlink /srv/link; ls -A /home',
    );
    assert.is(
      out,
      `${storage}\n/srv/d 1000:10 755 directory\n/srv/d/f 1000:10 4750 regular file\n/srv/link 0:0 777 symbolic link\n/srv/pipe 0:0 640 fifo\n2\nd/f\nonly\n`,
    );
  });
}

test('what the sandbox mounted over is not part of the image', async () => {
  await buildOk('FROM busybox\nRUN test -s /etc/resolv.conf && echo built > /built\n', {}, ['-t', 'stubs']);
  const layers = await savedLayers(suite, 'stubs');
  const names = layers[layers.length - 1].map((e) => e.name);
  assert.equal(
    names.filter((n) => !n.startsWith('etc') || n === 'etc/hosts' || n === 'etc/resolv.conf'),
    ['built'],
  );
});

test('a rebuild with nothing changed reuses every step and gives the same image', async () => {
  const dockerfile = 'FROM busybox\nCOPY a /a\nRUN cat /a > /b\nCMD ["cat", "/b"]\n';
  const dir = await writeContext(suite, { Dockerfile: dockerfile, a: 'one\n', '.dockerignore': 'noise\n', noise: 'x' });
  const first = await suite.devboxOk(['build', '--progress=plain', dir]);
  const second = await suite.devboxOk(['build', '--progress=plain', dir]);
  assert.is(second.stdout, first.stdout);
  assert.is((second.stderr.match(/--> Using cache/g) ?? []).length, 3, second.stderr);
  assert.not.match(second.stderr, /done in/);
  writeFileSync(join(dir, 'noise'), 'ignored files do not count');
  assert.is((await suite.devboxOk(['build', '--progress=plain', dir])).stdout, first.stdout);
  writeFileSync(join(dir, 'a'), 'two\n');
  const third = await suite.devboxOk(['build', '--progress=plain', '-t', 'rebuilt', dir]);
  assert.is.not(third.stdout, first.stdout);
  assert.match(third.stderr, /STEP 2\/4: COPY a \/a\n--> done/);
  assert.match(third.stderr, /STEP 3\/4: RUN cat \/a > \/b\n--> done/);
  assert.is((await suite.devboxOk(['run', '--rm', 'rebuilt'])).stdout, 'two\n');
  const noCache = await suite.devboxOk(['build', '--progress=plain', '--no-cache', dir]);
  assert.not.match(noCache.stderr, /Using cache/);
});

test('multi-stage: --target builds only the stages it needs; COPY --from keeps ownership', async () => {
  const dockerfile = [
    'FROM busybox AS build',
    'RUN mkdir /out && echo artifact > /out/file && chown -R 1000:1000 /out',
    'FROM busybox AS broken',
    'RUN exit 7',
    'FROM busybox AS final',
    'COPY --from=build /out /app',
    'COPY --from=0 --chown=10:10 /out/file /other',
    'RUN stat -c "%u:%g" /app/file /other > /owners',
  ].join('\n');
  await buildOk(dockerfile, {}, ['--target', 'final', '-t', 'staged']);
  assert.is(await runIn('staged', 'cat /app/file /owners'), 'artifact\n1000:1000\n10:10\n');
  const failing = await build(dockerfile, {}, ['--target', 'broken']);
  assert.is.not(failing.exitCode, 0);
  assert.match(failing.stderr, /Dockerfile:4: RUN exit 7: the command exited with status 7/);
  const missing = await build(dockerfile, {}, ['--target', 'nope']);
  assert.match(missing.stderr, /target stage "nope" could not be found/);
});

test("COPY --from shares a stage's files with its layer: a later RUN that changes one leaves the stage's as it was; the layer is the one a copy makes", async () => {
  // --chmod with the file's own mode makes the step copy the file instead of linking it: the two layers are
  // the same (into /, which the image has: a directory the COPY makes would carry the time it was made).
  const dockerfile = [
    'FROM busybox AS build',
    'RUN mkdir /out && echo artifact > /out/file && ln /out/file /out/again && chmod 640 /out/file && chown -R 1000:1000 /out',
    'FROM busybox AS linked',
    'COPY --from=build /out/file /out/again /',
    'RUN echo changed >> /file',
    'FROM busybox AS copied',
    'COPY --from=build --chmod=640 /out/file /out/again /',
  ].join('\n');
  await buildOk(dockerfile, {}, ['--target', 'linked', '-t', 'linked']);
  await buildOk(dockerfile, {}, ['--target', 'copied', '-t', 'copied']);
  await buildOk(dockerfile, {}, ['--target', 'build', '-t', 'linked-source']);
  // The RUN's change copies the file up, which parts it from /again (as overlayfs does under Docker too).
  assert.is(await runIn('linked', 'cat /file /again; stat -c "%a %u:%g" /file /again'), 'artifact\nchanged\nartifact\n640 1000:1000\n640 1000:1000\n');
  assert.is(await runIn('linked-source', 'cat /out/file /out/again'), 'artifact\nartifact\n');
  assert.is(await runIn('copied', '[ "$(stat -c %i /file)" = "$(stat -c %i /again)" ] && echo one file'), 'one file\n');
  const layers = async (image: string) => ((await suite.inspect(image)) as unknown as { RootFS: { Layers: string[] } }).RootFS.Layers;
  const [linked, copied] = [await layers('linked'), await layers('copied')];
  assert.is(linked.at(-2), copied.at(-1));
});

test('multi-stage: stages that do not need each other run at the same time; their output is not interleaved', async () => {
  // Each of the first two stages marks that it runs, then waits (up to 120 s) for the other's mark: built one
  // after the other, the first would give up and fail the build. They meet in a cache mount both RUNs see.
  const id = `meet-${process.pid}-${Date.now()}`;
  const meet = (self: string, other: string) =>
    `RUN --mount=type=cache,id=${id},target=/meet touch /meet/${self} && i=0; ` +
    `while [ ! -e /meet/${other} ]; do i=$((i+1)); [ $i -lt 1200 ] || exit 9; busybox sleep 0.1; done; echo ${self}-out; echo ${self} > /${self}`;
  const dockerfile = [
    'FROM busybox AS left',
    meet('left', 'right'),
    'FROM busybox AS right',
    meet('right', 'left'),
    'FROM busybox',
    'COPY --from=left /left /',
    'COPY --from=right /right /',
  ].join('\n');
  const { stderr } = await buildOk(dockerfile, {}, ['-t', 'parallel']);
  assert.is(await runIn('parallel', 'cat /left /right'), 'left\nright\n');
  // As a build of one stage after the other shows it: each stage's lines together, in file order.
  const lines = stderr.split('\n').filter((line) => /^(STEP|--> |left-out|right-out)/.test(line));
  assert.equal(
    lines.map((line) => line.replace(/^(STEP \d+\/7: \S+).*$/, '$1').replace(/^--> done in .*$/, '--> done')),
    [
      'STEP 1/7: FROM',
      'STEP 2/7: RUN',
      'left-out',
      '--> done',
      'STEP 3/7: FROM',
      'STEP 4/7: RUN',
      'right-out',
      '--> done',
      'STEP 5/7: FROM',
      'STEP 6/7: COPY',
      '--> done',
      'STEP 7/7: COPY',
      '--> done',
    ],
    stderr,
  );
});

test('multi-stage: a failing stage fails the build with its own error and its output; no image is made', async () => {
  const dockerfile = [
    'FROM busybox AS other',
    'RUN echo other > /other',
    'FROM busybox AS broken',
    'RUN echo broken-out && exit 3',
    'FROM busybox',
    'COPY --from=other /other /',
    'COPY --from=broken /etc/passwd /',
  ].join('\n');
  const failed = await build(dockerfile, {}, ['--no-cache', '-t', 'never-parallel']);
  assert.is(failed.exitCode, 1);
  assert.match(failed.stderr, /\nbroken-out\n/);
  assert.match(failed.stderr, /\ndevbox: Dockerfile:4: RUN echo broken-out && exit 3: the command exited with status 3\n$/);
  assert.is((await suite.devbox(['image', 'inspect', 'never-parallel'])).exitCode, 1);
});

test('ARG: global ARGs in FROM, --build-arg over defaults, ENV over ARG, ARGs in the RUN environment only', async () => {
  const dockerfile =
    'ARG BASE=nothing\nFROM $BASE\nARG GREETING=hi\nARG UNSET\nENV FROM_ENV=${GREETING:-none}-${UNSET:-unset}\nRUN echo "$GREETING $FROM_ENV" > /args\n';
  const { stderr } = await buildOk(dockerfile, {}, ['--build-arg', 'BASE=busybox', '--build-arg', 'GREETING=hello', '--build-arg', 'EXTRA=1', '-t', 'args']);
  assert.match(stderr, /not consumed by any ARG: EXTRA/);
  assert.is(await runIn('args', 'cat /args; echo "[$GREETING]"'), 'hello hello-unset\n[]\n');
});

test('heredocs: RUN <<EOF runs through the shell, or its #! interpreter; COPY <<EOF writes a file with variables expanded', async () => {
  const dockerfile = [
    'FROM busybox',
    'ENV NAME=world',
    'RUN <<EOF',
    'echo one > /h1',
    'echo two >> /h1',
    'EOF',
    'RUN <<SCRIPT',
    '#!/bin/busybox sh',
    'echo "run by $0" > /h2',
    'SCRIPT',
    'COPY <<EOT <<"RAW" /docs/',
    'hello $NAME',
    'EOT',
    'keep $NAME',
    'RAW',
  ].join('\n');
  await buildOk(dockerfile, {}, ['-t', 'heredoc']);
  assert.is(await runIn('heredoc', 'cat /h1 /h2 /docs/EOT /docs/RAW'), 'one\ntwo\nrun by /dev/pipes/SCRIPT\nhello world\nkeep $NAME\n');
});

test('heredocs: a command given a heredoc reads it on stdin, as BuildKit runs it', async () => {
  // Quoted, the document reaches the command untouched: its own $0 is "sh", not the outer shell's.
  const dockerfile = ['FROM busybox', "RUN <<'EOT' sh", 'echo "by $0" > /by', 'EOT', 'RUN tr a-z A-Z <<EOT > /upper', 'quiet words', 'EOT'].join('\n');
  await buildOk(dockerfile, {}, ['-t', 'heredoc-stdin']);
  assert.is(await runIn('heredoc-stdin', 'cat /by /upper'), 'by sh\nQUIET WORDS\n');
});

test('--platform: the host platform builds quietly, another warns in one line, a malformed one is refused', async () => {
  const host = `linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}`;
  const other = host === 'linux/amd64' ? 'linux/arm64' : 'linux/amd64';
  const same = await buildOk('FROM busybox\nRUN true\n', {}, ['--platform', host]);
  assert.not.match(same.stderr, /--platform/);
  const foreign = await buildOk('FROM busybox\nRUN true\n', {}, [`--platform=${other}`]);
  assert.match(foreign.stderr, `--platform=${other} ignored: devbox builds for ${host}`);
  const bad = await build('FROM busybox\n', {}, ['--platform', 'linux/amd64/v1/extra']);
  assertOneLineFailure(bad, 'invalid platform "linux/amd64/v1/extra"', 125);
});

test('RUN --mount=type=cache keeps its directory between builds and out of the image', async () => {
  const dockerfile =
    'FROM busybox\nRUN --mount=type=cache,target=/var/cache/app,sharing=locked echo run >> /var/cache/app/log && cat /var/cache/app/log > /seen\n';
  await buildOk(dockerfile, {}, ['-t', 'cached-mount']);
  await buildOk(dockerfile, {}, ['--no-cache', '-t', 'cached-mount']);
  assert.is(await runIn('cached-mount', 'cat /seen; test -e /var/cache && echo present || echo absent'), 'run\nrun\nabsent\n');
});

test('COPY: globs, directory contents, trailing slash, --chmod, --exclude, .dockerignore with exceptions', async () => {
  const files: Record<string, ContextFile> = {
    Dockerfile: 'FROM busybox\nCOPY *.txt /texts/\nCOPY src /srcdir\nCOPY --chmod=600 single.txt /renamed\nCOPY --exclude=src/*.js src /nojs\n',
    'a.txt': 'a',
    'b.txt': 'b',
    'single.txt': 's',
    'src/keep.js': 'k',
    'src/skip.log': 'x',
    'src/logs/important.log': 'i',
    '.dockerignore': '**/*.log\n!src/logs/important.log\n',
  };
  const dir = await writeContext(suite, files);
  await suite.devboxOk(['build', '-t', 'copies', dir]);
  assert.is(
    await runIn('copies', 'ls /texts; find /srcdir | sort; stat -c %a /renamed; find /nojs | sort'),
    'a.txt\nb.txt\nsingle.txt\n/srcdir\n/srcdir/keep.js\n/srcdir/logs\n/srcdir/logs/important.log\n600\n/nojs\n/nojs/logs\n/nojs/logs/important.log\n',
  );
});

test('COPY never follows a symlink out of the context: a top-level link resolves inside it, links inside are copied as links', async () => {
  const escape = await build('FROM busybox\nCOPY passwd-link /x\n', { 'passwd-link': { symlink: '/etc/passwd' } });
  assert.is.not(escape.exitCode, 0);
  assert.match(escape.stderr, /Dockerfile:2: COPY passwd-link \/x: .*not found in the build context/);
  // A link climbing out stops at the context's root: what it names is the context itself.
  await buildOk('FROM busybox\nCOPY up /up/\n', { up: { symlink: '../../..' } }, ['-t', 'climb']);
  assert.is(await runIn('climb', 'ls -A /up'), 'Dockerfile\nup\n');
  await buildOk('FROM busybox\nCOPY dir /dir\n', { 'dir/out': { symlink: '/etc/shadow' }, 'dir/f': 'f' }, ['-t', 'links']);
  assert.is(await runIn('links', 'readlink /dir/out; ls /dir'), '/etc/shadow\nf\nout\n');
});

test('ADD extracts local tar, tar.gz and tar.xz archives with their ownership; other files are copied', async () => {
  const tar = await packTar([
    { name: 'pkg', type: 'directory' },
    { name: 'pkg/tool', content: 'tool\n', mode: 0o755, uid: 1000, gid: 1000 },
  ]);
  const dir = await writeContext(suite, { Dockerfile: 'FROM busybox\nADD plain.tar gz.tar.gz xz.tar.xz /opt/\nADD notatar.gz /files/\n' });
  writeFileSync(join(dir, 'plain.tar'), tar);
  writeFileSync(join(dir, 'gz.tar.gz'), gzipSync(await packTar([{ name: 'from-gz', content: 'gz' }])));
  writeFileSync(join(dir, 'xz.tar.xz'), await xz.compress(await packTar([{ name: 'from-xz', content: 'xz' }])));
  writeFileSync(join(dir, 'notatar.gz'), gzipSync('just text'));
  await suite.devboxOk(['build', '-t', 'added', dir]);
  assert.is(
    await runIn('added', 'stat -c "%n %u:%g %a" /opt/pkg/tool; cat /opt/from-gz /opt/from-xz; echo; ls /files'),
    '/opt/pkg/tool 1000:1000 755\ngzxz\nnotatar.gz\n',
  );
});

test('ADD of a hostile local archive is refused in one line naming the archive and the entry, and writes nothing outside', async () => {
  // Absolute, so that an extractor that followed the symlink (or was not confined to its directory) would write here.
  const outside = await suite.tempDir('outside');
  writeFileSync(join(outside, 'victim'), 'untouched');
  const hostile: [string, Parameters<typeof packTar>[0], RegExp][] = [
    [
      'a symlink out, then a file through it',
      [
        { name: 'evil', type: 'symlink', linkname: outside },
        { name: 'evil/pwned', content: 'x' },
      ],
      /entry "evil\/pwned" passes through the symlink "evil"/,
    ],
    ['a name that climbs out', [{ name: `../../../../../../..${outside}/pwned`, content: 'x' }], /entry "(\.\.\/)+.*\/pwned" escapes the layer directory/],
    [
      'a hard link to a path outside',
      [{ name: 'h', type: 'link', linkname: '../outside/victim' }],
      /hard link "h" points at "\.\.\/outside\/victim", which escapes the layer directory/,
    ],
    [
      'a hard link to a host file',
      [{ name: 'h', type: 'link', linkname: `${outside}/victim` }],
      /hard link "h" points at ".*\/victim", which is not in the layer/,
    ],
  ];
  for (const [what, entries, message] of hostile) {
    const dir = await writeContext(suite, { Dockerfile: 'FROM busybox\nADD evil.tar /x/\n' });
    writeFileSync(join(dir, 'evil.tar'), await packTar(entries));
    const r = await suite.devbox(['build', '-q', '-t', 'hostile-add', dir]);
    assertOneLineFailure(r, new RegExp(`Dockerfile:2: ADD evil\\.tar /x/: "evil\\.tar": ${message.source}`));
    assert.equal(readdirSync(outside).sort(), ['victim'], what);
    assert.is(readFileSync(join(outside, 'victim'), 'utf8'), 'untouched', what);
  }
  assert.is.not((await suite.devbox(['image', 'inspect', 'hostile-add'])).exitCode, 0, 'a hostile ADD left an image');
});

test('ADD of a URL: --checksum is verified, the file is mode 600, a cached step does not download again', async () => {
  const body = 'downloaded content\n';
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    if (req.url === '/files/tool.sh') res.end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const sum = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const dockerfile = `FROM busybox\nADD --checksum=${sum} ${base}/files/tool.sh /bin/\n`;
    await buildOk(dockerfile, {}, ['-t', 'url']);
    assert.is(await runIn('url', 'cat /bin/tool.sh; stat -c %a /bin/tool.sh'), `${body}600\n`);
    const before = requests;
    await buildOk(dockerfile, {}, ['-t', 'url']);
    assert.is(requests, before, 'a step known by its checksum is not downloaded again');
    const wrong = await build(`FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} ${base}/files/tool.sh /x\n`);
    assert.match(wrong.stderr, /Dockerfile:2: ADD .*checksum mismatch/);
    const missing = await build(`FROM busybox\nADD ${base}/nothing /x\n`);
    assert.match(missing.stderr, /Dockerfile:2: ADD .*HTTP 404/);
    const copy = await build(`FROM busybox\nCOPY ${base}/files/tool.sh /x\n`);
    assert.match(copy.stderr, /source can't be a URL for COPY/);
  } finally {
    server.close();
  }
});

test("ADD of an https URL trusts NODE_EXTRA_CA_CERTS, which the launcher keeps from Node.js's start for devbox's client", async () => {
  const dir = await suite.tempDir('tls');
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  const subject = ['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', ...subject], { stdio: 'ignore' });
  const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    if (req.url === '/tool.sh') res.end('over tls\n');
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const context = await writeContext(suite, {
      Dockerfile: `FROM busybox\nADD https://127.0.0.1:${(server.address() as AddressInfo).port}/tool.sh /tool.sh\n`,
    });
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_DATA_HOME: join(suite.dir, 'data'), XDG_CONFIG_HOME: join(suite.dir, 'config') };
    delete env.NODE_EXTRA_CA_CERTS;
    // Not spawnSync: the server answers from this process's event loop.
    const viaLauncher = (extra: NodeJS.ProcessEnv) =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(DEVBOX_LAUNCHER, ['build', '-q', '-t', 'tls-add', context], { env: { ...env, ...extra }, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr!.on('data', (d) => (stderr += d));
        child.once('close', (status) => resolve({ status, stderr }));
      });
    const untrusted = await viaLauncher({});
    assert.is.not(untrusted.status, 0);
    assert.ok(/Dockerfile:2: ADD .*self-signed certificate/.test(untrusted.stderr), untrusted.stderr);
    const trusted = await viaLauncher({ NODE_EXTRA_CA_CERTS: cert });
    assert.is(trusted.status, 0, trusted.stderr);
    assert.is(await runIn('tls-add', 'cat /tool.sh'), 'over tls\n');
  } finally {
    server.close();
  }
});

test('ONBUILD triggers are recorded, run in the image built FROM it, and not inherited further', async () => {
  await buildOk('FROM busybox\nONBUILD RUN echo triggered > /trigger\nONBUILD ENV FROM_TRIGGER=yes\n', {}, ['-t', 'onbuild-base']);
  const base = (await suite.inspect('onbuild-base')) as unknown as { Config: { OnBuild?: string[] } };
  assert.equal(base.Config.OnBuild, ['RUN echo triggered > /trigger', 'ENV FROM_TRIGGER=yes']);
  await buildOk('FROM onbuild-base\nRUN echo "$FROM_TRIGGER" >> /trigger\n', {}, ['-t', 'onbuild-child']);
  assert.is(await runIn('onbuild-child', 'cat /trigger'), 'triggered\nyes\n');
  const child = (await suite.inspect('onbuild-child')) as unknown as { Config: { OnBuild?: string[] } };
  assert.is(child.Config.OnBuild, undefined);
});

test('Debian: RUN uses the whole subordinate range (useradd, shadow group, setuid programs survive a copy-up)', async () => {
  await suite.devboxOk(['image', 'import', minbaseTar(), 'localhost/minbase']);
  await buildOk(
    'FROM localhost/minbase\nRUN useradd -m -u 1500 -s /bin/bash dev && install -d -o dev -g dev -m 750 /work && chmod u+s /usr/bin/passwd\nUSER dev\nWORKDIR /work\nRUN touch mine\n',
    {},
    ['-t', 'debian-dev'],
  );
  const out = await runIn('debian-dev', 'stat -c "%n %u:%g %a" /etc/shadow /home/dev /work /work/mine /usr/bin/passwd');
  assert.is(out, '/etc/shadow 0:42 640\n/home/dev 1500:1500 755\n/work 1500:1500 750\n/work/mine 1500:1500 644\n/usr/bin/passwd 0:0 4755\n');
  assert.is((await suite.devboxOk(['run', '--rm', 'debian-dev', 'id'])).stdout, 'uid=1500(dev) gid=1500(dev) groups=1500(dev)\n');
});

test('-q shows nothing but the id, and the output of a step that fails', async () => {
  const ok = await buildOk('FROM busybox\nRUN echo quiet-output\n', {}, ['-q']);
  assert.is(ok.stderr, '');
  assert.match(ok.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const failed = await build('FROM busybox\nRUN echo shown-on-failure && exit 2\n', {}, ['-q']);
  assert.is(failed.stdout, '');
  assert.match(failed.stderr, /^shown-on-failure\ndevbox: Dockerfile:2: RUN .*status 2/);
});

test('bad input: Dockerfile:LINE, the instruction, the cause; a failed build leaves no image or layer behind', async () => {
  const before = suite.snapshot();
  const cases: [string, RegExp][] = [
    ['FROM busybox\nFROOB x\n', /^devbox: Dockerfile:2: FROOB x: unknown instruction: FROOB/],
    ['FROM busybox\nCOPY --nope=1 a /b\n', /^devbox: Dockerfile:2: COPY --nope=1 a \/b: unknown flag: --nope/],
    ['FROM busybox\nCOPY missing.txt /b\n', /^devbox: Dockerfile:2: COPY missing.txt \/b: "missing.txt": not found in the build context/],
    // Base images are pulled when missing; a registry nothing listens on keeps the test offline.
    [
      'FROM 127.0.0.1:1/no-such-image:1\n',
      /^devbox: Dockerfile:1: FROM 127\.0\.0\.1:1\/no-such-image:1: cannot pull 127\.0\.0\.1:1\/no-such-image:1: cannot reach 127\.0\.0\.1:1: connection refused/,
    ],
    [
      'FROM busybox\nCOPY --from=127.0.0.1:1/nostage /a /b\n',
      /^devbox: Dockerfile:2: COPY --from=127\.0\.0\.1:1\/nostage \/a \/b: cannot pull 127\.0\.0\.1:1\/nostage:latest: cannot reach/,
    ],
    [
      'FROM busybox\nRUN echo partial > /partial && exit 3\n',
      /^devbox: Dockerfile:2: RUN echo partial > \/partial && exit 3: the command exited with status 3/,
    ],
    ['FROM busybox\nENV A=${B:?unset}\n', /^devbox: Dockerfile:2: ENV A=\$\{B:\?unset\}: B: unset/],
  ];
  for (const [dockerfile, message] of cases) {
    const r = await build(dockerfile, {}, ['-t', 'never']);
    assert.is.not(r.exitCode, 0, dockerfile);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('devbox:'));
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0], message);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.is(suite.snapshot(), before);
  const inspect = await suite.devbox(['image', 'inspect', 'never']);
  assert.is.not(inspect.exitCode, 0);
});

test.run();
