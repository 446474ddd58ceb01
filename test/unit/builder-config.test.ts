/** Config edits of metadata instructions, ignore rules, and cache keys. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { stepKey } from '../../src/builder/cache.js';
import { commandArgs, destinationPath, exposedPorts, healthConfig, parseChmod, parseDuration, setEnv, workdirPath } from '../../src/builder/config-edits.js';
import { contextSourcesOf, hashContextSources, ignoreRules, readIgnorePatterns, type BuildContext } from '../../src/builder/context.js';
import { sourcePrefix } from '../../src/builder/sources.js';

test('ENV replaces a variable where it is and appends a new one', () => {
  assert.equal(setEnv(['A=1', 'PATH=/bin', 'B=2'], 'PATH', '/x'), ['A=1', 'PATH=/x', 'B=2']);
  assert.equal(setEnv(null, 'A', 'a=b'), ['A=a=b']);
});

test('shell and exec forms; SHELL replaces /bin/sh -c', () => {
  assert.equal(commandArgs({ shell: 'echo hi' }, undefined), ['/bin/sh', '-c', 'echo hi']);
  assert.equal(commandArgs({ shell: 'echo hi' }, ['/bin/bash', '-eo', 'pipefail', '-c']), ['/bin/bash', '-eo', 'pipefail', '-c', 'echo hi']);
  assert.equal(commandArgs({ exec: ['a', 'b c'] }, ['/bin/bash']), ['a', 'b c']);
});

test('EXPOSE ports, protocols and ranges', () => {
  assert.equal(exposedPorts(['80', '53/UDP', '8000-8002/tcp']), ['80/tcp', '53/udp', '8000/tcp', '8001/tcp', '8002/tcp']);
  assert.throws(() => exposedPorts(['http']), /invalid port/);
  assert.throws(() => exposedPorts(['9-1']), /invalid port range/);
});

test('HEALTHCHECK: Go durations in nanoseconds, CMD-SHELL for the shell form', () => {
  assert.is(parseDuration('1m30s'), 90e9);
  assert.is(parseDuration('500ms'), 5e8);
  assert.throws(() => parseDuration('5'), /invalid duration/);
  assert.equal(healthConfig({ shell: 'curl -f x' }, { interval: '5s', retries: '3' }), { Test: ['CMD-SHELL', 'curl -f x'], Interval: 5e9, Retries: 3 });
  assert.equal(healthConfig({ exec: ['true'] }, {}), { Test: ['CMD', 'true'] });
  assert.equal(healthConfig('NONE', {}), { Test: ['NONE'] });
});

test('WORKDIR is relative to the previous one; destinations keep their trailing slash', () => {
  assert.is(workdirPath('/app', 'src/../lib'), '/app/lib');
  assert.is(workdirPath(undefined, 'x'), '/x');
  assert.is(destinationPath('/app', './'), '/app/');
  assert.is(destinationPath('/app', 'f'), '/app/f');
  assert.is(destinationPath('/', '/d/'), '/d/');
  assert.is(parseChmod('755'), 0o755);
  assert.throws(() => parseChmod('u+x'), /octal/);
});

test('.dockerignore rules: patterns, ** and ! exceptions, case-sensitive', () => {
  const rules = ignoreRules(['*.log', 'build/**', '!build/keep.txt', 'docs']);
  assert.ok(rules.ignores('a.log'));
  assert.not.ok(rules.ignores('sub/a.log'));
  assert.ok(rules.ignores('build/x/y'));
  assert.not.ok(rules.ignores('build/keep.txt'));
  assert.ok(rules.ignores('docs/readme'));
  assert.not.ok(rules.ignores('A.LOG'));
  assert.ok(rules.hasExceptions);
});

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'devbox-context-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test('ignore files: <Dockerfile>.dockerignore beside it wins over the context root file', () => {
  writeFileSync(join(dir, '.dockerignore'), 'root\n');
  assert.equal(readIgnorePatterns(dir, join(dir, 'Dockerfile')), ['root']);
  writeFileSync(join(dir, 'Dockerfile.dockerignore'), '# c\nbeside\n\n');
  assert.equal(readIgnorePatterns(dir, join(dir, 'Dockerfile')), ['beside']);
});

test('what a Dockerfile reads of its context: COPY and ADD sources of every stage, not --from, URLs or here-documents', () => {
  const dockerfile = [
    'FROM base AS build',
    'COPY go.mod go.sum ./',
    'ADD https://example.com/tool.tgz /opt/',
    'COPY <<EOF /etc/motd',
    'hello',
    'EOF',
    'FROM base',
    'COPY --from=build /out /usr/bin/',
    'ADD ["conf/*.ini", "/etc/app/"]',
    'COPY go.mod /',
    '',
  ].join('\n');
  assert.equal(contextSourcesOf(dockerfile), ['conf/*.ini', 'go.mod', 'go.sum']);
  assert.equal(contextSourcesOf('FROM base\nARG DIR=src\nCOPY ${DIR} /app\n'), ['.'], 'a variable is known only while building');
  assert.equal(contextSourcesOf('COPY a /\n'), ['.'], 'a Dockerfile the build will refuse');
  assert.equal(contextSourcesOf('FROM base\nRUN true\n'), []);
});

test('a source up to its first wildcard; climbing out of the context means all of it', () => {
  assert.is(sourcePrefix('conf/*.ini'), 'conf');
  assert.is(sourcePrefix('./a/b/'), 'a/b');
  assert.is(sourcePrefix('/abs/x[0-9]/y'), 'abs');
  assert.is(sourcePrefix('*.txt'), '');
  assert.is(sourcePrefix('.'), '');
  assert.is(sourcePrefix('../outside'), '');
});

test('source hash: content and modes count, mtimes and ignored files do not', async () => {
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'a'), 'one');
  writeFileSync(join(dir, 'src', 'b.log'), 'noise');
  symlinkSync('a', join(dir, 'src', 'link'));
  const context: BuildContext = { dir, dockerfile: join(dir, 'Dockerfile'), dockerfileLabel: 'Dockerfile', ignorePatterns: ['**/*.log'] };
  const first = hashContextSources(context, ['src']).digest;
  writeFileSync(join(dir, 'src', 'b.log'), 'other noise');
  const { utimesSync, chmodSync } = await import('node:fs');
  utimesSync(join(dir, 'src', 'a'), new Date(0), new Date(0));
  assert.is(hashContextSources(context, ['src']).digest, first);
  writeFileSync(join(dir, 'src', 'a'), 'two');
  const second = hashContextSources(context, ['src']).digest;
  assert.is.not(second, first);
  chmodSync(join(dir, 'src', 'a'), 0o600);
  assert.is.not(hashContextSources(context, ['src']).digest, second);
  assert.equal(hashContextSources(context, ['missing', 'src/*.none']).missing, ['missing', 'src/*.none']);
  assert.equal(hashContextSources(context, ['src/b.log']).missing, ['src/b.log']);
});

test('cache keys chain: same parent and step give the same key, anything else another', () => {
  const a = stepKey('p', { run: ['sh', '-c', 'x'] });
  assert.is(a, stepKey('p', { run: ['sh', '-c', 'x'] }));
  assert.is.not(a, stepKey('q', { run: ['sh', '-c', 'x'] }));
  assert.is.not(a, stepKey('p', { run: ['sh', '-c', 'y'] }));
  assert.match(a, /^[a-f0-9]{64}$/);
});

test('build options: docker build flags, repeatable tags and args, -q as quiet, errors as usage', async () => {
  const { parseBuildArgs } = await import('../../src/cli/build-options.js');
  const options = parseBuildArgs([
    '-t',
    'a',
    '--tag=b:1',
    '-f',
    'Containerfile',
    '--build-arg',
    'X=1',
    '--build-arg',
    'Y',
    '--label',
    'k=v',
    '--target',
    'dev',
    '--no-cache',
    '-q',
    '--network',
    'none',
    'ctx',
  ]);
  assert.equal(options, {
    context: 'ctx',
    file: 'Containerfile',
    tags: ['a', 'b:1'],
    buildArgs: ['X=1', 'Y'],
    labels: ['k=v'],
    target: 'dev',
    noCache: true,
    progress: 'quiet',
    network: 'none',
  });
  assert.is(parseBuildArgs(['.']).progress, 'auto');
  assert.is(parseBuildArgs(['--network=default', '.']).network, 'host');
  assert.throws(() => parseBuildArgs(['--progress=fancy', '.']), /--progress must be one of/);
  assert.throws(() => parseBuildArgs(['--nope', '.']), /Unknown option '--nope'/);
  assert.throws(() => parseBuildArgs([]), /requires a CONTEXT/);
  assert.throws(() => parseBuildArgs(['a', 'b']), /one CONTEXT/);
});

test.run();
