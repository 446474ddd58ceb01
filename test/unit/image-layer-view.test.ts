/** The merged layer view: overlay's visibility rules and symlink resolution that never leaves the root. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { cleanPath, LayerView, SymlinkLoopError } from '../../src/image/layer-view.js';
import { matchSources } from '../../src/builder/sources.js';

let dir: string;
let lower: string;
let upper: string;

test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'devbox-view-'));
  lower = join(dir, 'lower');
  upper = join(dir, 'upper');
  for (const d of ['lower/etc', 'lower/data/sub', 'lower/app', 'upper/data', 'upper/app']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(lower, 'etc/passwd'), 'lower');
  writeFileSync(join(lower, 'data/old'), 'hidden by the opaque upper dir');
  writeFileSync(join(lower, 'app/kept'), 'k');
  writeFileSync(join(upper, 'data/new'), 'n');
  writeFileSync(join(upper, 'app/added'), 'a');
  writeFileSync(join(upper, 'etc'), 'a file over a directory');
});

test.after.each(() => rmSync(dir, { recursive: true, force: true }));

const view = () =>
  new LayerView([
    { dir: lower, opaque: new Set() },
    { dir: upper, opaque: new Set(['data']) },
  ]);

test('upper entries win; directories merge unless opaque; a file hides a lower directory', () => {
  const v = view();
  assert.equal(v.readdir('app'), ['added', 'kept']);
  assert.equal(v.readdir('data'), ['new']);
  assert.is(v.lookup('data/old'), undefined);
  assert.is(v.lookup('data/sub'), undefined);
  assert.ok(v.lookup('etc')!.stats.isFile());
  assert.is(v.lookup('etc/passwd'), undefined);
  assert.equal(v.readdir(''), ['app', 'data', 'etc']);
});

test('symlinks resolve inside the view: absolute targets and .. stop at its root', () => {
  symlinkSync('/etc/../../../../app', join(upper, 'abs'));
  symlinkSync('../../../app/added', join(upper, 'app/rel'));
  symlinkSync('loop2', join(upper, 'loop1'));
  symlinkSync('loop1', join(upper, 'loop2'));
  const v = view();
  assert.is(v.resolve('abs/kept', true), 'app/kept');
  assert.is(v.resolve('app/rel', true), 'app/added');
  assert.is(v.resolve('app/rel', false), 'app/rel');
  assert.is(v.resolve('/../../abs/../etc', true), 'etc');
  assert.throws(
    () => v.resolve('loop1', true),
    (e: Error) => e instanceof SymlinkLoopError,
  );
  assert.is(cleanPath('/a/../../b/./c/'), 'b/c');
});

test('COPY sources: wildcards per component, a top-level link followed inside the root', () => {
  symlinkSync('/app', join(upper, 'applink'));
  const v = view();
  assert.equal(
    matchSources(v, 'app/*').map((m) => [m.name, m.rel]),
    [
      ['added', 'app/added'],
      ['kept', 'app/kept'],
    ],
  );
  assert.equal(
    matchSources(v, 'applink').map((m) => [m.name, m.rel]),
    [['applink', 'app']],
  );
  // As Go's filepath.Glob: a wildcard directory matches through a symlinked one too.
  assert.equal(
    matchSources(v, '*/kept').map((m) => m.rel),
    ['app/kept', 'app/kept'],
  );
  assert.equal(matchSources(v, 'nothing*'), []);
});

test.run();
