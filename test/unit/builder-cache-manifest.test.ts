/** A build cache's form in a registry (BuildKit's cache config), and the --cache-from/--cache-to options. */
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { CACHE_CONFIG_MEDIA_TYPE, decodeCacheConfig, encodeCacheConfig, type CacheConfig } from '../../src/builder/cache-manifest.js';
import type { BuildCacheEntry } from '../../src/image/build-cache-store.js';
import { MediaType } from '../../src/image/oci.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const key = (c: string) => c.repeat(64);
const layer = (c: string, size: number) => ({ mediaType: MediaType.ociLayer, digest: digest(c), size });

function entry(layers: ReturnType<typeof layer>[], extra: Record<string, string> = {}): BuildCacheEntry {
  return {
    config: { architecture: 'amd64', os: 'linux', config: { Labels: extra }, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } },
    layers,
  };
}

test('a chain of steps becomes BuildKit layer chains and linked records, and reads back as the same entries', () => {
  const base = layer('a', 10);
  const run = layer('b', 20);
  const steps = [
    { key: key('1'), parent: key('0'), entry: entry([base], { step: 'env' }) },
    { key: key('2'), parent: key('1'), entry: entry([base, run]) },
    // another stage on the same base: its chain shares the first layer
    { key: key('3'), parent: key('9'), entry: entry([base, layer('c', 30)]) },
    { key: key('2'), parent: key('1'), entry: entry([base, run]) }, // recorded twice (a stage built FROM another)
  ];
  const { config, layers } = encodeCacheConfig(steps);
  assert.equal(
    config.layers.map((l) => [l.blob, l.parent]),
    [
      [digest('a'), -1],
      [digest('b'), 0],
      [digest('c'), 0],
    ],
  );
  assert.equal(config.layers[1].annotations, { mediaType: MediaType.ociLayer, diffID: digest('b'), size: 20 });
  assert.equal(
    config.records.map((r) => [r.digest, r.layers, r.inputs]),
    [
      [digest('1'), [{ layer: 0 }], undefined],
      [digest('2'), [{ layer: 1 }], [[{ selector: '', link: 0 }]]],
      [digest('3'), [{ layer: 2 }], undefined],
    ],
  );
  assert.equal(
    layers.map((l) => [l.digest, l.size, l.annotations?.['containerd.io/uncompressed']]),
    [
      [digest('a'), 10, digest('a')],
      [digest('b'), 20, digest('b')],
      [digest('c'), 30, digest('c')],
    ],
  );
  const read = decodeCacheConfig(JSON.parse(JSON.stringify(config)) as CacheConfig);
  assert.equal([...read.keys()], [key('1'), key('2'), key('3')]);
  assert.equal(read.get(key('2')), steps[1].entry);
  assert.equal(read.get(key('1')), steps[0].entry);
  assert.ok(CACHE_CONFIG_MEDIA_TYPE.startsWith('application/vnd.buildkit.cacheconfig'));
});

test('records that do not hold together are left out, the rest are kept', () => {
  const good = entry([layer('a', 1)]);
  const { config } = encodeCacheConfig([{ key: key('1'), entry: good }]);
  const config2 = JSON.parse(JSON.stringify(config)) as CacheConfig;
  const base = config2.records[0];
  config2.layers.push({ blob: digest('b'), parent: 2 }); // loops onto itself
  config2.layers.push({ blob: 'not-a-digest', parent: -1, annotations: { size: 1 } });
  config2.records.push(
    { ...base, digest: digest('2'), layers: [{ layer: 1 }] },
    { ...base, digest: digest('3'), layers: [{ layer: 2 }] },
    { ...base, digest: digest('4'), layers: [{ layer: 7 }] },
    { ...base, digest: 'sha256:short' },
    { ...base, digest: digest('5'), config: { ...base.config!, rootfs: { type: 'layers', diff_ids: [] } } },
  );
  assert.equal([...decodeCacheConfig(config2).keys()], [key('1')]);
  assert.equal(decodeCacheConfig({} as CacheConfig).size, 0);
  assert.equal(decodeCacheConfig(null as unknown as CacheConfig).size, 0);
});

test('--cache-from and --cache-to: BuildKit spelling, a bare REF, modes, bad values as usage errors', async () => {
  const { parseBuildArgs } = await import('../../src/cli/build-options.js');
  const options = parseBuildArgs([
    '--cache-from',
    'type=registry,ref=reg.example:5000/team/app:cache',
    '--cache-from',
    'reg.example/other:1',
    '--cache-to',
    'type=registry,ref=reg.example:5000/team/app:cache,mode=max,image-manifest=true',
    '.',
  ]);
  assert.equal(options.cacheFrom, ['reg.example:5000/team/app:cache', 'reg.example/other:1']);
  assert.equal(options.cacheTo, { ref: 'reg.example:5000/team/app:cache', mode: 'max', ignoreError: false });
  assert.equal(parseBuildArgs(['--cache-to', 'ref=r.example/a:1', '.']).cacheTo, { ref: 'r.example/a:1', mode: 'min', ignoreError: false });
  assert.is(parseBuildArgs(['--cache-to', 'ref=r.example/a:1,ignore-error=true', '.']).cacheTo?.ignoreError, true);
  assert.is(parseBuildArgs(['.']).cacheFrom, undefined);
  for (const [args, message] of [
    [['--cache-to', 'type=local,dest=/tmp/x'], /--cache-to: type=local is not supported \(devbox build supports type=registry\)/],
    [['--cache-to', 'type=registry'], /--cache-to needs ref=REGISTRY\/REPOSITORY:TAG/],
    [['--cache-to', 'ref=r.example/a:1,mode=all'], /--cache-to: mode=all: use min or max/],
    [['--cache-to', 'ref=r.example/a:1,image-manifest=false'], /image-manifest=false: devbox writes the cache as an OCI image manifest/],
    [['--cache-to', `ref=r.example/a@sha256:${'0'.repeat(64)}`], /--cache-to: cannot write a build cache to a digest/],
    [['--cache-from', 'type=registry,ref=r.example/a:1,scope=x'], /--cache-from: scope is not supported/],
    [['--cache-from', 'type=registry,ref=UPPER/Case:1'], /--cache-from: build cache ref "UPPER\/Case:1"/],
    [['--cache-from', 'type=registry,,ref=r.example/a'], /--cache-from: "" is not KEY=VALUE/],
  ] as const) {
    assert.throws(
      () => parseBuildArgs([...args, '.']),
      (error: Error & { kind?: string }) => message.test(error.message) && error.kind === 'usage',
      args.join(' '),
    );
  }
});

test.run();
