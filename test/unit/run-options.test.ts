import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { parseRunArgs } from '../../src/cli/run-options.js';
import { DevboxError } from '../../src/util/errors.js';
import { thrownBy } from '../helpers/errors.js';

test('options stop at the image; the command keeps its own flags', () => {
  const o = parseRunArgs(['--rm', '-it', '-v', '/a:/b:ro', '--env=X=1', '-e', 'Y', 'busybox', 'ls', '-la', '--rm']);
  assert.is(o.rm, true);
  assert.is(o.interactive, true);
  assert.is(o.tty, true);
  assert.equal(o.volumes, ['/a:/b:ro']);
  assert.equal(o.env, ['X=1', 'Y']);
  assert.is(o.image, 'busybox');
  assert.equal(o.command, ['ls', '-la', '--rm']);
});

test('short options take attached values and -- ends the options', () => {
  const o = parseRunArgs(['-uroot', '-w/src', '--', '-weird-image-name']);
  assert.is(o.user, 'root');
  assert.is(o.workdir, '/src');
  assert.is(o.image, '-weird-image-name');
  assert.equal(o.command, []);
});

test('network and storage default to the settings; -p repeats', () => {
  const o = parseRunArgs(['img']);
  assert.is(o.network, undefined);
  assert.equal(parseRunArgs(['-p', '8080:80', '--publish=127.0.0.1:53:53/udp', '--network', 'slirp', 'img']), {
    ...o,
    publish: ['8080:80', '127.0.0.1:53:53/udp'],
    network: 'slirp',
  });
  assert.is(o.storage, undefined);
  assert.is(parseRunArgs(['--storage', 'fuse', 'img']).storage, 'fuse');
});

for (const [argv, message] of [
  [['--bogus', 'img'], /unknown option --bogus/],
  [['-x', 'img'], /unknown option -x/],
  [['--storage', 'zfs', 'img'], /--storage must be one of auto, native, fuse, copy/],
  [['-v'], /--volume needs a value/],
  [['--rm'], /requires an IMAGE/],
  [['--rm=yes', 'img'], /--rm takes no value/],
  [['--pull', 'sometimes', 'img'], /--pull must be one of missing, always, never/],
] as const) {
  test(`bad usage is one clear error: ${argv.join(' ')}`, () => {
    const error = thrownBy(() => parseRunArgs(argv));
    assert.instance(error, DevboxError);
    assert.match((error as DevboxError).message, message);
    assert.is((error as DevboxError).kind, 'usage');
  });
}

test('--pull is missing unless given, and --platform is passed on', () => {
  assert.is(parseRunArgs(['img']).pull, 'missing');
  const opts = parseRunArgs(['--pull=always', '--platform', 'linux/arm64', 'img', 'true']);
  assert.equal([opts.pull, opts.platform, opts.image, opts.command], ['always', 'linux/arm64', 'img', ['true']]);
});

test.run();
