/**
 * The malformed-input corpus: input that once got a stack trace, was accepted without a word, or left
 * something behind. Each case gets one line on stderr (after the output of a command the user's RUN ran), a
 * non-zero status, and leaves the store as it was: no image, blob, layer, container, sandbox, workspace or
 * temp file more. The image-errors suite holds the corpus of bad archives.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { DEVBOX_BIN, type CliResult } from '../helpers/cli.js';
import { createImageSuite, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, writeTar } from '../helpers/images.js';
import { checkStore } from '../helpers/store-check.js';

let suite: ImageSuite;
const IMAGE = 'present:1';

const fixtures = once(async () => {
  suite = await createImageSuite('malformed');
  const rootfs = join(await suite.tempDir('rootfs'), 'rootfs.tar');
  await writeTar(rootfs, busyboxRootfs());
  await suite.devboxOk(['image', 'import', rootfs, IMAGE]);
  // A first run records the storage backend and the network probe: later runs change nothing.
  await suite.devboxOk(['run', '--rm', IMAGE, 'true']);
});

test.before.each(fixtures);

test.after(async () => {
  await suite?.cleanup();
});

/** Everything a command could leave in the store, as names: equal before and after a refused command. */
function storeContents(): string {
  const root = suite.storeRoot;
  const names = (sub: string) => (existsSync(join(root, sub)) ? readdirSync(join(root, sub)).sort().join(',') : '');
  return [suite.snapshot(), ...['containers', 'sandboxes', 'build', 'build-cache', 'volumes'].map(names)].join('\n');
}

/** A folder of the suite with these files. */
async function folder(files: Record<string, string>): Promise<string> {
  const dir = await suite.tempDir('case');
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** `progress`: the command shows progress first (a pull); the error is still its one last line. */
type Case = [what: string, run: () => Promise<CliResult>, status: number, message: RegExp, progress?: 'progress'];

const build = async (dockerfile: string) => suite.devbox(['build', '-q', '-t', 'refused:1', await folder({ Dockerfile: dockerfile })]);
const run = (...options: string[]) => suite.devbox(['run', '--rm', ...options, IMAGE, 'true']);
/** devbox in a project folder whose devbox.json is `config`. */
const enter = async (config: string) => suite.devbox(['run', 'true'], { cwd: await folder({ 'devbox.json': config }) });

const cases: Case[] = [
  ['a Dockerfile with a NUL byte', () => build(`FROM ${IMAGE}\nRUN echo a\0b\n`), 1, /Dockerfile:2: contains a NUL byte/],
  [
    'a RUN line of 10 MB',
    () => build(`FROM ${IMAGE}\nRUN echo ${'x'.repeat(10 * 1024 * 1024)}\n`),
    1,
    /Dockerfile:2: RUN echo x+…: an argument of the command is \d+ KiB, more than Linux takes in one \(128 KiB\)/,
  ],
  ['an ARG name with an unmatched quote', () => build(`FROM ${IMAGE}\nARG "x\nRUN true\n`), 1, /Dockerfile:2: ARG "x: .*matching double-quote/],
  ['RUN --mount=type=bind', () => build(`FROM ${IMAGE}\nRUN --mount=type=bind,source=.,target=/x true\n`), 1, /--mount=type=bind is not supported/],
  ['a RUN that fails', () => build(`FROM ${IMAGE}\nRUN exit 3\n`), 1, /Dockerfile:2: RUN exit 3: the command exited with status 3/],
  [
    'a devbox.json nested 100000 deep',
    () => enter(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`),
    125,
    /devbox\.json:1:\d+: nested more than 64 levels deep/,
  ],
  [
    'a project start refused: its image cannot be pulled',
    () => enter('{"image": "localhost/nothing-here:1"}'),
    125,
    /cannot pull localhost\/nothing-here:1/,
    'progress',
  ],
  ['a reference with port 99999', () => suite.devbox(['pull', 'localhost:99999/x:1']), 125, /port 99999 is out of range/],
  ['a reference of 5000 characters', () => suite.devbox(['pull', 'a'.repeat(5000)]), 125, /^devbox: invalid reference "a{79}…": .{0,200}$/],
  ['run -e =x', () => run('-e', '=x'), 125, /invalid environment variable "=x"/],
  ['run -u nosuchuser', () => run('-u', 'nosuchuser'), 125, /unable to find user nosuchuser/],
  ['run -u -1', () => run('-u', '-1'), 125, /unable to find user -1/],
  ['run -u with an unmapped uid', () => run('-u', '99999999'), 125, /user 99999999:0 is not mapped/],
  ['run -w relative', () => run('-w', 'relative'), 125, /working directory "relative" is invalid/],
  ['run of a malformed reference', () => suite.devbox(['run', 'Bad:Ref', 'true']), 125, /invalid reference "Bad:Ref"/],
];

for (const [what, command, status, message, progress] of cases) {
  test(`${what}: one line, status ${status}, the store unchanged`, async () => {
    const before = storeContents();
    const r = await command();
    assert.is(r.exitCode, status, r.stderr.slice(0, 2000));
    const lines = r.stderr.split('\n').filter(Boolean);
    if (!progress) assert.is(lines.length, 1, r.stderr.slice(0, 2000));
    assert.is(lines.filter((l) => l.startsWith('devbox:')).length, 1, r.stderr.slice(0, 2000));
    assert.match(lines.at(-1)!, /^devbox: /);
    assert.match(lines.at(-1)!, message);
    assert.is(storeContents(), before);
    assert.equal(checkStore(suite.storeRoot), []);
  });
}

test('a layer entry with a name over 255 bytes: the entry is named, not a temp path', async () => {
  const tar = join(await suite.tempDir('long-name'), 'long.tar');
  await writeTar(tar, [...busyboxRootfs(), { name: `d/${'n'.repeat(300)}`, content: 'x' }]);
  const before = storeContents();
  const r = await suite.devbox(['image', 'import', tar, 'long:1']);
  assert.is(r.exitCode, 1);
  assert.is(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
  assert.match(r.stderr, /entry "d\/n+…": a name in its path is longer than Linux allows \(255 bytes\)/);
  assert.not.match(r.stderr, /\.tmp-/);
  assert.is(storeContents(), before);
});

test('any command run from a folder that was deleted: one line, status 125', async () => {
  const gone = await suite.tempDir('gone');
  for (const args of [['images'], ['run', '--rm', IMAGE, 'true'], ['shell']]) {
    // The shell enters the folder and deletes it, then starts devbox there.
    mkdirSync(gone, { recursive: true });
    const quoted = [process.execPath, DEVBOX_BIN, ...args].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('/bin/sh', ['-c', `cd '${gone}' && rmdir '${gone}' && exec ${quoted}`], {
      env: { ...process.env, XDG_DATA_HOME: join(suite.dir, 'data'), XDG_CONFIG_HOME: join(suite.dir, 'config') },
      encoding: 'utf8',
    });
    assert.is(r.status, 125, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr, 'devbox: the current folder no longer exists (cd to a folder that exists)\n');
  }
  assert.not.ok(existsSync(gone));
});

test.run();
