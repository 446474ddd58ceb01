/** project/join-record.ts: the hash the launcher computes too, the record's fields, when nothing is recorded. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { environmentHash, Fnv1a64, joinRecordFolder, watchedSources, watchedTree, writeJoinRecord, type JoinRecord } from '../../src/project/join-record.js';

let dir: string;

test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'devbox-join-record-'));
});

test.after.each(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('FNV-1a 64 gives the published test vectors', () => {
  const hex = (s: string) => new Fnv1a64().update(Buffer.from(s)).hex();
  assert.is(hex(''), 'cbf29ce484222325');
  assert.is(hex('a'), 'af63dc4c8601ec8c');
  assert.is(hex('foobar'), '85944171f73967e8');
});

test('the environment hash does not depend on the order of variables, and does on every value', () => {
  assert.is(environmentHash({ A: '1', B: '2' }), environmentHash({ B: '2', A: '1' }));
  assert.is.not(environmentHash({ A: '1', B: '2' }), environmentHash({ A: '1', B: '3' }));
  assert.is.not(environmentHash({ A: '1' }), environmentHash({ A: '1', B: '' }));
});

test('a folder tree is every entry, or nothing past the limit', () => {
  mkdirSync(join(dir, 'tree', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'tree', 'sub', 'f'), '');
  assert.equal(
    watchedTree(join(dir, 'tree'))?.map((w) => w.path.slice(dir.length)),
    ['/tree', '/tree/sub', '/tree/sub/f'],
  );
  mkdirSync(join(dir, 'big'));
  for (let i = 0; i < 2001; i++) writeFileSync(join(dir, 'big', String(i)), '');
  assert.is(watchedTree(join(dir, 'big')), undefined);
});

test("a build's sources are watched below their prefixes, once each; the whole context when a link is among them", () => {
  const context = join(dir, 'repo');
  mkdirSync(join(context, 'conf'), { recursive: true });
  mkdirSync(join(context, 'src'));
  writeFileSync(join(context, 'conf', 'app.ini'), '');
  writeFileSync(join(context, 'requirements.txt'), '');
  writeFileSync(join(context, 'src', 'main.py'), '');
  const paths = (watched: { path: string }[] | undefined) => watched?.map((w) => w.path.slice(context.length)).sort();
  assert.equal(paths(watchedSources(context, ['conf', 'requirements.txt', 'conf', 'src/deeper/missing'])), [
    '',
    '/conf',
    '/conf/app.ini',
    '/requirements.txt',
    '/src',
    '/src/deeper',
    '/src/deeper/missing',
  ]);
  symlinkSync('../src', join(context, 'conf', 'linked'));
  assert.equal(paths(watchedSources(context, ['conf'])), paths(watchedTree(context)));
});

const record = (watched: string[]): JoinRecord => ({
  cwd: '/somewhere',
  commandLine: ['run', 'true'],
  stdinIsTerminal: false,
  watched: watched.map((path) => ({ path, follow: true })),
  live: [{ pid: 1, start: '1' }],
  command: ['/helper', '--join', '1'],
});

const recordsIn = (env: NodeJS.ProcessEnv) => {
  try {
    return readdirSync(joinRecordFolder(env));
  } catch {
    return [];
  }
};

test('a record lists the fields the launcher reads, in a folder only its owner may write', () => {
  const file = join(dir, 'config');
  writeFileSync(file, '{}');
  const env = { XDG_CACHE_HOME: join(dir, 'cache') };
  // As if this process had started well after the file's last change.
  writeJoinRecord(record([file, join(dir, 'absent')]), env, Date.now() + 10_000);
  const [name] = recordsIn(env);
  const fields = readFileSync(join(joinRecordFolder(env), name), 'utf8').split('\0');
  assert.equal(fields.slice(0, 8), ['devbox-join/1', 'cwd', '/somewhere', 'argv', '2', 'run', 'true', 'env']);
  const stats = statSync(file, { bigint: true });
  assert.is(fields[fields.indexOf(file) + 1], `f:${stats.ino}:2:${stats.mtimeNs}:${stats.ctimeNs}`);
  assert.is(fields[fields.indexOf(join(dir, 'absent')) + 1], '-');
  assert.equal(fields.slice(-10), ['live', '1', '1', 'exec', '3', '/helper', '--join', '1', 'end', '']);
  assert.is(statSync(joinRecordFolder(env)).mode & 0o777, 0o700);
  assert.is(statSync(join(joinRecordFolder(env), name)).mode & 0o777, 0o600);
});

test('nothing is recorded when a file it names changed within a second before the process started, or after', () => {
  const file = join(dir, 'config');
  writeFileSync(file, '{}');
  const env = { XDG_CACHE_HOME: join(dir, 'cache') };
  writeJoinRecord(record([file]), env, Date.now() + 900);
  writeJoinRecord(record([file]), env, Date.now() - 60_000);
  assert.equal(recordsIn(env), []);
});

test.run();
