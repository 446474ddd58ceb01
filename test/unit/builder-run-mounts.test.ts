/** RUN --mount: the one type devbox builds with (cache), and the others refused as what they are. */
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { parseRunMounts } from '../../src/builder/run-mounts.js';

const same = (word: string) => word;

test('a cache mount: target, id, sharing, owner and mode', () => {
  const [mount] = parseRunMounts(['type=cache,target=/var/cache/apt,sharing=locked,uid=1000,gid=100,mode=0700'], same);
  assert.is(mount.target, '/var/cache/apt');
  assert.equal(mount.owner, { uid: 1000, gid: 100 });
  assert.is(mount.mode, 0o700);
  assert.is(mount.sharing, 'locked');
  assert.match(mount.cacheDir('/store'), /^\/store\/build-cache-mounts\/[0-9a-f]{32}$/);
});

test('other types are refused as unsupported, whatever options they come with', () => {
  assert.throws(() => parseRunMounts(['type=bind,source=.,target=/x'], same), /--mount=type=bind is not supported by devbox build \(only type=cache\)/);
  assert.throws(() => parseRunMounts(['source=.,target=/x'], same), /--mount=type=bind is not supported/);
  assert.throws(() => parseRunMounts(['type=secret,id=npmrc'], same), /--mount=type=secret is not supported/);
  assert.throws(() => parseRunMounts(['type=cache,target=/x,source=y'], same), /--mount: unknown option "source"/);
});

test.run();
