/**
 * What people reach for in their first minute with a CLI: `devbox help COMMAND`, a suggestion for a mistyped
 * command, shell completion, `--json` on every command that lists or inspects, topic help that lists each
 * command of the topic.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { suggestCommand } from '../../src/cli/command-not-found.js';
import { devbox, devboxOk } from '../helpers/cli.js';
import { importBusybox, testDir } from '../helpers/images.js';
import { test } from '../helpers/test.js';

const IMAGE = 'busybox:latest';

test.before(async () => {
  await importBusybox(IMAGE);
});

test("devbox help COMMAND is the command's help, as devbox COMMAND --help", async () => {
  const help = await devboxOk(['help', 'ps']);
  assert.match(help.stdout, /^List containers and project sandboxes/);
  assert.match(help.stdout, /\$ devbox ps \[--json\] \[-a\] \[-q\]/);
  assert.is(help.stdout, (await devboxOk(['ps', '--help'])).stdout);
  assert.match((await devboxOk(['help', 'image', 'ls'])).stdout, /\$ devbox image ls/);
});

test('devbox run CMD outside a project: when no image CMD can be pulled, the line says how to make a project; container run does not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'devbox-noproject-'));
  try {
    // docker.io sent to a port nothing listens on: the pull fails at once, whatever this machine can reach.
    mkdirSync(join(dir, 'config', 'devbox'), { recursive: true });
    writeFileSync(join(dir, 'config', 'devbox', 'config.json'), JSON.stringify({ registryMirrors: { 'docker.io': ['127.0.0.1:1'] } }));
    const env = { XDG_CONFIG_HOME: join(dir, 'config') };
    const run = await devbox(['run', 'make-no-such-image', 'test'], { cwd: dir, env });
    assert.is(run.exitCode, 125);
    assert.match(run.stderr, /^devbox: cannot pull docker\.io\/library\/make-no-such-image:latest: /m);
    assert.match(run.stderr, new RegExp(`no devbox\\.json or \\.devcontainer/devcontainer\\.json in ${dir} or above: devbox init makes a project`));
    assert.is(run.stderr.split('\n').filter((l) => l.startsWith('devbox:')).length, 1, run.stderr);
    const container = await devbox(['container', 'run', 'make-no-such-image', 'test'], { cwd: dir, env });
    assert.is(container.exitCode, 125);
    assert.not.match(container.stderr, /devbox init/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a mistyped command is one line naming the closest command, status 127', async () => {
  const r = await devbox(['imgaes']);
  assert.equal(
    [r.exitCode, r.stdout, r.stderr],
    [127, '', 'devbox: "imgaes" is not a devbox command (did you mean "devbox images"? devbox help lists them all)\n'],
  );
  const topic = await devbox(['image', 'lsit']);
  assert.match(topic.stderr, /^devbox: "image lsit" is not a devbox command \(did you mean "devbox image ls"\?/);
  const far = await devbox(['frobnicate']);
  assert.equal([far.exitCode, far.stderr], [127, 'devbox: "frobnicate" is not a devbox command (devbox help lists the commands)\n']);
});

test('suggestions: the nearest command within a few edits, none for a word that is nothing like one', () => {
  const commands = ['images', 'image ls', 'ps', 'pull', 'push'];
  assert.is(suggestCommand('pussh', commands), 'push');
  assert.is(suggestCommand('image lss', commands), 'image ls');
  assert.is(suggestCommand('completely-different', commands), undefined);
  assert.is(suggestCommand('ps', []), undefined);
});

test('--json on every command that lists or inspects prints JSON only', async () => {
  const listing: [string[], (value: unknown) => boolean][] = [
    [['images'], (v) => Array.isArray(v) && (v as { Names: string[] }[]).some((i) => i.Names.includes('docker.io/library/busybox:latest'))],
    [['ps', '-a'], Array.isArray],
    [['ports'], Array.isArray],
    [['image', 'history', IMAGE], (v) => Array.isArray(v) && (v as unknown[]).length > 0],
    [['image', 'inspect', IMAGE], (v) => Array.isArray(v) && (v as unknown[]).length === 1],
    [['system', 'df'], (v) => typeof (v as { images?: { total?: number } }).images?.total === 'number'],
    [['config'], (v) => typeof (v as { path?: string }).path === 'string'],
    [['version'], (v) => typeof (v as { Client?: { Version?: string } }).Client?.Version === 'string'],
    [['network', 'ls'], (v) => Array.isArray(v) && (v as { Name: string }[]).some((n) => n.Name === 'bridge')],
    [['info'], (v) => typeof (v as { Driver?: string }).Driver === 'string'],
    [['doctor'], (v) => Array.isArray(v) && (v as { name?: string }[]).every((c) => typeof c.name === 'string')],
  ];
  for (const [args, check] of listing) {
    const r = await devbox([...args, '--json']);
    let value: unknown;
    assert.not.throws(() => (value = JSON.parse(r.stdout)), `${args.join(' ')} --json: ${r.stdout.slice(0, 200)}`);
    assert.ok(check(value), `${args.join(' ')} --json: ${r.stdout.slice(0, 200)}`);
  }
});

test('ps and images run without oclif and through it (their aliases) alike; a bad option is one line, status 125', async () => {
  for (const [direct, viaOclif] of [
    [['images'], ['image:ls']],
    [
      ['ps', '-a', '--format', '{{.Names}} {{.Image}}'],
      ['container:ps', '-a', '--format', '{{.Names}} {{.Image}}'],
    ],
  ]) {
    const [a, b] = [await devboxOk(direct), await devboxOk(viaOclif)];
    assert.is(a.stdout, b.stdout, `${direct.join(' ')} and ${viaOclif.join(' ')}`);
  }
  assert.match((await devboxOk(['images'])).stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\nbusybox\s+latest\s/);
  for (const [args, line] of [
    [['ps', '--bogus'], `devbox: Unknown option '--bogus' (see "devbox ps --help")\n`],
    [['image:ls', '--bogus'], `devbox: Unknown option '--bogus' (see "devbox images --help")\n`],
    [['images', '--format', 'xml'], 'devbox: --format must be one of table, json, not "xml" (see "devbox images --help")\n'],
    [['ps', '-n', 'two'], 'devbox: --last takes a whole number, not "two" (see "devbox ps --help")\n'],
    [['ps', 'extra'], 'devbox: "devbox ps" takes no arguments, not "extra" (see "devbox ps --help")\n'],
  ] as [string[], string][]) {
    const r = await devbox(args);
    assert.equal([r.exitCode, r.stdout, r.stderr], [125, '', line], args.join(' '));
  }
});

test('image inspect runs without oclif and through its alias alike, takes -f as docker image inspect does, and looks at images only', async () => {
  const id = JSON.parse((await devboxOk(['inspect', '--type', 'image', IMAGE])).stdout)[0].Id;
  const direct = await devboxOk(['image', 'inspect', '-f', '{{.Id}} {{index .RepoTags 0}}', IMAGE]);
  assert.is(direct.stdout, `${id} busybox:latest\n`);
  assert.is((await devboxOk(['image:inspect', '--format', '{{.Id}} {{index .RepoTags 0}}', IMAGE])).stdout, direct.stdout);
  // A container's name is no image.
  const name = `cli-manners-img-${process.pid}`;
  await devboxOk(['create', '--name', name, '--network', 'host', IMAGE, 'true']);
  try {
    const r = await devbox(['image', 'inspect', name]);
    assert.equal([r.exitCode, r.stdout], [1, ''], r.stderr);
    assert.match(r.stderr, new RegExp(`^devbox: unknown image "${name}"`));
  } finally {
    await devbox(['rm', name]);
  }
  const bad = await devbox(['image', 'inspect', '--type', 'image', IMAGE]);
  assert.equal([bad.exitCode, bad.stdout, bad.stderr], [125, '', `devbox: Unknown option '--type' (see "devbox image inspect --help")\n`]);
});

test('every spelling of a command without oclif is the same command: inspect, logs, start, stop, rm of one container', async () => {
  const name = `cli-manners-${process.pid}`;
  await devboxOk(['create', '--name', name, '--network', 'host', IMAGE, 'echo', 'hello']);
  try {
    const inspect = await devboxOk(['inspect', '-f', '{{.Name}} {{.State.Status}}', name]);
    assert.is(inspect.stdout, `/${name} created\n`);
    for (const spelling of [['container', 'inspect'], ['container:inspect']])
      assert.is((await devboxOk([...spelling, '-f', '{{.Name}} {{.State.Status}}', name])).stdout, inspect.stdout, spelling.join(' '));
    assert.is((await devboxOk(['container', 'start', name])).stdout, `${name}\n`);
    // It prints and exits: wait for the exit, then its log is complete.
    const deadline = Date.now() + 60_000;
    while ((await devboxOk(['inspect', '-f', '{{.State.Status}}', name])).stdout !== 'exited\n') {
      assert.ok(Date.now() < deadline, `${name} did not exit within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const spelling of [['logs'], ['container', 'logs'], ['container:logs']])
      assert.is((await devboxOk([...spelling, name])).stdout, 'hello\n', spelling.join(' '));
    assert.is((await devboxOk(['container:stop', name])).stdout, `${name}\n`);
    assert.is((await devboxOk(['container', 'rm', name])).stdout, `${name}\n`);
    const gone = await devbox(['inspect', name]);
    assert.equal([gone.exitCode, gone.stderr], [1, `devbox: no such object: ${name} (see "devbox ps -a" and "devbox images")\n`]);
  } finally {
    await devbox(['rm', '-f', name]);
  }
});

test('bad input to the commands without oclif is one line and the status docker gives', async () => {
  const noContainer = 'devbox: no such container: no-such-box (see "devbox ps -a")\n';
  const badTemplate = `devbox: template parsing error: template: unclosed action ("{{" without "}}") (see Go's text/template as docker's --format takes it, e.g. --format "{{.Names}}")\n`;
  for (const [args, status, line] of [
    [['logs', 'no-such-box'], 1, noContainer],
    [['start', 'no-such-box'], 1, noContainer],
    [['stop', 'no-such-box'], 1, noContainer],
    [['rm', '-f', 'no-such-box'], 1, noContainer],
    [['inspect', '--type', 'container', 'no-such-box'], 1, noContainer],
    [['inspect', 'no-such-box'], 1, 'devbox: no such object: no-such-box (see "devbox ps -a" and "devbox images")\n'],
    [['inspect', '-f', '{{.Bad', 'no-such-box'], 125, badTemplate],
    [['volume', 'ls', '--format', '{{.Bad'], 125, badTemplate],
    [['network', 'ls', '--format', '{{.Bad'], 125, badTemplate],
    [['info', '--format', '{{.Bad'], 125, badTemplate],
    [['inspect'], 125, 'devbox: "devbox inspect" needs a container or image (see "devbox inspect --help")\n'],
    [['logs', 'a', 'b'], 125, 'devbox: "devbox logs" takes one argument, not also "b" (see "devbox logs --help")\n'],
    [['pull'], 125, 'devbox: "devbox pull" needs an image reference (see "devbox pull --help")\n'],
    [['image', 'pull', 'a', 'b'], 125, 'devbox: "devbox pull" takes one argument, not also "b" (see "devbox pull --help")\n'],
    [['image:pull', '--platform'], 125, `devbox: Option '--platform <value>' argument missing (see "devbox pull --help")\n`],
    [['stop', '-t', 'soon', 'no-such-box'], 125, 'devbox: --time takes a whole number of seconds, not "soon" (see "devbox stop --help")\n'],
    [['container', 'rm', '--bogus'], 125, `devbox: Unknown option '--bogus' (see "devbox rm --help")\n`],
    [['network', 'ls', 'extra'], 125, 'devbox: "devbox network ls" takes no arguments, not "extra" (see "devbox network ls --help")\n'],
    [
      ['volume', 'ls', '--filter', 'bogus=1'],
      125,
      "devbox: invalid filter 'bogus=1' (filters: dangling=true|false, driver=local, label=KEY[=VALUE], name=TEXT)\n",
    ],
  ] as [string[], number, string][]) {
    const r = await devbox(args);
    assert.equal([r.exitCode, r.stdout, r.stderr], [status, '', line], args.join(' '));
  }
});

test("devbox --help, devbox help and devbox alone print oclif's root help, written at build time", async () => {
  const script = new URL('../../../scripts/root-help.mjs', import.meta.url).href;
  const { oclifRootHelp } = (await import(script)) as { oclifRootHelp: () => string };
  const oclif = oclifRootHelp();
  assert.match(oclif, /^Rootless, daemonless dev environments.*\n\nVERSION\n {2}devbox\/\S+ \S+ node-v/s);
  // Without colour, as oclif prints it to a pipe (FORCE_COLOR, as the test runner may set it, sends devbox to oclif).
  const env = { FORCE_COLOR: undefined, OCLIF_COLUMNS: undefined };
  for (const args of [['--help'], ['help'], []]) assert.is((await devboxOk(args, { env })).stdout, oclif, `devbox ${args.join(' ')}`);
  // A command's --help is still oclif's.
  assert.match(
    (await devboxOk(['container', 'logs', '--help'], { env })).stdout,
    /^Show a container's output.*\n\nUSAGE\n {2}\$ devbox container logs CONTAINER/s,
  );
});

test("a bundled command's first run leaves this user's code cache, which later runs take as it is; a bad or old one is replaced", async () => {
  const base = await testDir('code-cache');
  const env = { XDG_CACHE_HOME: base };
  const dir = join(base, 'devbox', 'code-cache');
  const caches = () => readdirSync(dir).filter((f) => f.startsWith('ps.cjs-'));
  await devboxOk(['ps'], { env });
  const [name] = caches();
  assert.match(name ?? '', new RegExp(`^ps\\.cjs-\\d+-\\d+-${process.version.replace(/\./g, '\\.')}$`), readdirSync(dir).join(' '));
  assert.equal([statSync(dir).mode & 0o777, statSync(join(dir, name)).mode & 0o777], [0o700, 0o600]);
  const written = statSync(join(dir, name)).ino;
  await devboxOk(['ps'], { env });
  assert.is(statSync(join(dir, name)).ino, written, 'a cache V8 took is not written again');
  // Compiled code runs as the user: a cache others may write is not taken, and is written anew, private.
  chmodSync(join(dir, name), 0o666);
  await devboxOk(['ps'], { env });
  assert.is.not(statSync(join(dir, name)).ino, written, 'a cache others may write was taken');
  assert.is(statSync(join(dir, name)).mode & 0o777, 0o600);
  // One V8 rejects (not its own) is written anew after the run, which compiles as it would without; an earlier build's goes.
  writeFileSync(join(dir, name), 'not a code cache');
  writeFileSync(join(dir, 'ps.cjs-1-2-v0.0.0'), 'an earlier build');
  assert.match((await devboxOk(['ps'], { env })).stdout, /^CONTAINER ID/);
  assert.equal(caches(), [name]);
  assert.ok(readFileSync(join(dir, name)).length > 1000);
  // A cache folder that cannot be made costs only the cache.
  const blocked = join(base, 'blocked');
  writeFileSync(blocked, '');
  const r = await devbox(['ps'], { env: { XDG_CACHE_HOME: blocked } });
  assert.equal([r.exitCode, r.stderr], [0, '']);
});

test("devbox version and --version print package.json's version, as docker version and oclif's line", async () => {
  const { version } = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version: string };
  assert.is((await devboxOk(['version', '--format', '{{.Client.Version}}'])).stdout, `${version}\n`);
  assert.match(
    (await devboxOk(['version'])).stdout,
    new RegExp(`^Client: devbox\n Version: +${version.replace(/\./g, '\\.')}\n Node.js: +${process.version}\n`),
  );
  assert.is((await devboxOk(['--version'])).stdout, `devbox/${version} ${process.platform}-${process.arch} node-${process.version}\n`);
});

test('topic help lists every command of the topic', async () => {
  const commandsDir = fileURLToPath(new URL('../../src/commands/', import.meta.url));
  for (const topic of ['image', 'system', 'editor', 'container', 'config']) {
    const help = (await devboxOk([topic, '--help'])).stdout;
    const commands = readdirSync(`${commandsDir}${topic}`)
      .filter((f) => f.endsWith('.js') && f !== 'index.js')
      .map((f) => f.slice(0, -3));
    for (const command of commands) assert.match(help, new RegExp(`^  ${topic} ${command}\\b`, 'm'), `${topic} --help misses ${command}`);
  }
});

test('shell completion for bash and zsh: devbox autocomplete prints how to set it up', async () => {
  for (const shell of ['bash', 'zsh']) {
    const r = await devboxOk(['autocomplete', shell]);
    assert.match(r.stdout, new RegExp(`devbox autocomplete:script ${shell}|\\.${shell}rc`), shell);
  }
});

test('shell completion for fish: devbox completion fish, sourced by a real fish, completes words level by level and flags', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'devbox-fish-'));
  try {
    writeFileSync(join(dir, 'devbox.fish'), (await devboxOk(['completion', 'fish'])).stdout);
    // Candidates are "WORD<TAB>DESCRIPTION" lines; only the words are compared.
    const complete = (line: string) =>
      execFileSync('fish', ['--no-config', '-c', `source ${dir}/devbox.fish; complete -C '${line}'`], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map((candidate) => candidate.split('\t')[0]);
    assert.equal(complete('devbox contai'), ['container']);
    assert.equal(complete('devbox container st'), ['start', 'stats', 'stop']);
    assert.ok(complete('devbox container run --').includes('--detach'), 'container run --detach');
    assert.ok(complete('devbox image ').includes('prune'), 'image prune');
    assert.equal(complete('devbox config u'), ['unset']);
    // Flags are per command: ps has --all, run does not.
    assert.ok(complete('devbox ps --').includes('--all'));
    assert.not.ok(complete('devbox run --').includes('--all'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
