/**
 * The launcher (native/launcher.c) that the `devbox` command on the PATH is: it replays the join an earlier
 * entry recorded (src/project/join-record.ts) without starting Node.js while nothing that entry was made from
 * changed, and hands everything else to Node.js. Which one ran is told by a `node` first on the PATH that
 * notes each start before it runs the real one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { DEVBOX_BIN, devbox, devboxOk, type CliResult } from '../helpers/cli.js';
import { importBusybox, testDir } from '../helpers/images.js';
import { joinRecordName } from '../../src/project/join-record.js';
import { openTerminal } from '../helpers/terminal.js';

const IMAGE = 'busybox:latest';
// The sanitizer build (make -C native sanitize, as npm test runs it): a memory error ends it with a report.
const LAUNCHER = join(DEVBOX_BIN, '..', '..', 'native', 'devbox-launcher-sanitized');
const projects: string[] = [];
let work: string;
let env: NodeJS.ProcessEnv;

const joinsFolder = () => join(work, 'cache', 'devbox', 'joins');
const nodeStarts = () => {
  try {
    return readFileSync(join(work, 'node-starts'), 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
};

function launch(args: readonly string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // PWD as a shell sets it: the `node` above, a shell script, would set it otherwise (after the launcher hashed the environment).
    const child = spawn(LAUNCHER, args, { cwd, env: { ...env, PWD: cwd, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ exitCode: code ?? -1, stdout, stderr }));
  });
}

/** Enters with `args` until an entry runs without Node.js (an entry within a second of a change records nothing). */
async function untilReplayed(args: readonly string[], cwd: string, check: (r: CliResult) => void): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const before = nodeStarts();
    const r = await launch(args, cwd);
    check(r);
    if (nodeStarts() === before) return;
    if (Date.now() > deadline) throw new Error(`devbox ${args.join(' ')} never ran without Node.js`);
  }
}

/** The next entry goes through Node.js, and still does what it should. */
async function takesNode(args: readonly string[], cwd: string, check: (r: CliResult) => void, extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
  const before = nodeStarts();
  check(await launch(args, cwd, extraEnv));
  assert.is(nodeStarts(), before + 1, 'Node.js entered');
}

/** The fields of the newest record of entries in `cwd`. */
function newestRecord(cwd: string): { path: string; fields: string[] } {
  const records = readdirSync(joinsFolder())
    .map((name) => join(joinsFolder(), name))
    .map((path) => ({ path, fields: readFileSync(path, 'utf8').split('\0'), mtime: statSync(path).mtimeMs }))
    .filter((r) => r.fields[1] === 'cwd' && r.fields[2] === cwd)
    .sort((a, b) => b.mtime - a.mtime);
  assert.ok(records.length, `a record of entries in ${cwd}`);
  return records[0];
}

async function project(): Promise<string> {
  const root = await testDir('launcher');
  writeFileSync(join(root, 'devbox.json'), JSON.stringify({ image: IMAGE }));
  mkdirSync(join(root, 'src'));
  projects.push(root);
  return root;
}

test.before(async () => {
  await importBusybox(IMAGE);
  work = await testDir('launcher-work');
  mkdirSync(join(work, 'bin'));
  writeFileSync(join(work, 'bin', 'node'), `#!/bin/sh\necho started >> '${join(work, 'node-starts')}'\nexec '${process.execPath}' "$@"\n`, { mode: 0o755 });
  env = { ...process.env, PATH: `${join(work, 'bin')}:${process.env.PATH}`, XDG_CACHE_HOME: join(work, 'cache') };
});

test.after(async () => {
  for (const root of projects) await devbox(['stop'], { cwd: root });
});

const ARGS = ['run', 'sh', '-c', 'echo "$DEVBOX_PROJECT:$PWD:$(id -u)"; exit 7'];
const expect =
  (root: string, cwd = root) =>
  (r: CliResult) => {
    assert.is(r.exitCode, 7, r.stderr);
    assert.is(r.stdout, `${basename(root)}:${cwd}:${process.getuid!()}\n`);
  };

test('a join is replayed without Node.js while nothing changed; output and status pass through; any change goes to Node.js', async () => {
  const root = await project();
  const cwd = join(root, 'src');
  await devboxOk(['run', 'true'], { cwd: root });
  await untilReplayed(ARGS, cwd, expect(root, cwd));

  // The config touched (not changed): Node.js checks it, then the record is made again.
  const earlier = new Date(Date.now() - 60_000);
  utimesSync(join(root, 'devbox.json'), earlier, earlier);
  await takesNode(ARGS, cwd, expect(root, cwd));
  await untilReplayed(ARGS, cwd, expect(root, cwd));

  // Another environment, another folder, other arguments: each has no record yet.
  await takesNode(ARGS, cwd, expect(root, cwd), { DEVBOX_TEST_VARIABLE: '1' });
  await takesNode(ARGS, root, expect(root));
  await takesNode(['run', 'sh', '-c', 'exit 3'], cwd, (r) => assert.is(r.exitCode, 3));

  // Something where a nearer config would be found (a folder named devbox.json: not a config, but not as recorded).
  mkdirSync(join(cwd, 'devbox.json'));
  await takesNode(ARGS, cwd, expect(root, cwd));
  await untilReplayed(ARGS, cwd, expect(root, cwd));

  // The sandbox stopped: Node.js starts it again.
  await devboxOk(['stop'], { cwd: root });
  await takesNode(ARGS, cwd, expect(root, cwd));
});

test('a record that others could have written is not replayed', async () => {
  const root = await project();
  await devboxOk(['run', 'true'], { cwd: root });
  await untilReplayed(ARGS, root, expect(root));
  chmodSync(newestRecord(root).path, 0o620);
  await takesNode(ARGS, root, expect(root));
  await untilReplayed(ARGS, root, expect(root));
  chmodSync(joinsFolder(), 0o770);
  await takesNode(ARGS, root, expect(root));
});

test('the second devbox shell in a terminal is replayed, to a working prompt', async () => {
  const root = await project();
  await devboxOk(['run', 'true'], { cwd: root });
  const terminal = openTerminal('sh', { cwd: root, env: env as Record<string, string> });
  try {
    const deadline = Date.now() + 60_000;
    for (let round = 0; ; round++) {
      const before = nodeStarts();
      terminal.send(`${LAUNCHER} shell\n`);
      await terminal.waitFor(new RegExp(`(?:[\\s\\S]*?\\(devbox:){${round + 1}}`), 30_000);
      terminal.send(`echo "inside-$((6 * 7))-${round}"; exit\n`);
      await terminal.waitFor(new RegExp(`inside-42-${round}\\n`));
      if (nodeStarts() === before) break;
      if (Date.now() > deadline) throw new Error('devbox shell never ran without Node.js');
    }
  } finally {
    terminal.close();
  }
});

/**
 * Enters `root` through the launcher under strace with a variable of its own (no record for it yet, so Node.js
 * enters and records), and checks that every file of the project, the settings, the sandboxes and Docker's
 * config that the entry looked at is watched by the record it wrote.
 */
async function assertRecordWatchesWhatNodeRead(root: string, config: string): Promise<void> {
  await devboxOk(['run', 'true'], { cwd: root });
  const check = (r: CliResult) => assert.is(r.exitCode, 7, r.stderr);
  await untilReplayed(ARGS, root, check); // the sandbox's files are old enough to be recorded from here on
  const trace = join(work, 'trace');
  const tracedEnv = { ...env, PWD: root, DEVBOX_TEST_TRACED: '1' };
  const before = nodeStarts();
  const traced = spawnSync('strace', ['-f', '-qq', '-e', 'trace=%file', '-o', trace, LAUNCHER, ...ARGS], { cwd: root, env: tracedEnv, encoding: 'utf8' });
  check({ exitCode: traced.status ?? -1, stdout: traced.stdout, stderr: traced.stderr });
  assert.is(nodeStarts(), before + 1, 'Node.js entered');
  const fields = readFileSync(join(joinsFolder(), joinRecordName(root, ARGS, tracedEnv)), 'utf8').split('\0');
  const recorded = new Set(fields.filter((_, i) => fields[i - 1] === 'stat' || fields[i - 1] === 'lstat'));
  const watchedRoots = [root, process.env.XDG_CONFIG_HOME!, join(process.env.XDG_DATA_HOME!, 'devbox', 'sandboxes'), join(process.env.HOME!, '.docker')];
  const touched = new Set<string>();
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    if (/execve\(/.test(line)) continue; // the helper's own start, after the record
    for (const [, path] of line.matchAll(/"(\/[^"]*)"/g)) if (watchedRoots.some((r) => path === r || path.startsWith(`${r}/`))) touched.add(path);
  }
  const sandboxFiles = [...touched].filter((p) => p.includes('/sandboxes/'));
  assert.ok(touched.has(join(root, config)) && sandboxFiles.length > 0, `the trace saw the entry's files: ${[...touched].join(' ')}`);
  // A file looked for and not found is watched through its folder too: creating it changes the folder.
  const watched = (p: string) => recorded.has(p) || (!existsSync(p) && recorded.has(dirname(p)));
  const missed = [...touched].filter((p) => !watched(p) && p !== root);
  assert.equal(missed, [], 'every file the entry looked at is in the record');
}

test("the record watches every file Node.js's entry looked at: a devbox.json with an image", async () => {
  await assertRecordWatchesWhatNodeRead(await project(), 'devbox.json');
});

test("the record watches every file Node.js's entry looked at: a devcontainer.json built from a Dockerfile and its context", async () => {
  const root = await testDir('launcher-built');
  projects.push(root);
  mkdirSync(join(root, '.devcontainer', 'files'), { recursive: true });
  writeFileSync(join(root, '.devcontainer', 'devcontainer.json'), JSON.stringify({ build: { dockerfile: 'Dockerfile', context: '.' } }));
  writeFileSync(join(root, '.devcontainer', 'Dockerfile'), `FROM ${IMAGE}\nCOPY files /opt/files\n`);
  writeFileSync(join(root, '.devcontainer', 'files', 'motd'), 'hello\n');
  await assertRecordWatchesWhatNodeRead(root, '.devcontainer/devcontainer.json');
});

test("the record watches every file Node.js's entry looked at: the repo as the context, more files in it than a record watches", async () => {
  const root = await testDir('launcher-repo');
  projects.push(root);
  mkdirSync(join(root, '.devcontainer'));
  mkdirSync(join(root, 'config', 'motd'), { recursive: true });
  mkdirSync(join(root, 'vendor'));
  writeFileSync(join(root, '.devcontainer', 'devcontainer.json'), JSON.stringify({ build: { dockerfile: 'Dockerfile', context: '..' } }));
  writeFileSync(join(root, '.devcontainer', 'Dockerfile'), `FROM ${IMAGE}\nCOPY config/motd /etc/motd.d\n`);
  writeFileSync(join(root, 'config', 'motd', 'hello'), 'hello\n');
  // The Dockerfile reads none of these: they are not watched, and do not stop the replay (2,000 is the most a record watches).
  for (let i = 0; i < 2100; i++) writeFileSync(join(root, 'vendor', String(i)), '');
  await assertRecordWatchesWhatNodeRead(root, '.devcontainer/devcontainer.json');
});

test.run();
