import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { MountSpecError, parseMountFlag, parseMountObject, parseMountString, parseTmpfsFlag, parseVolumeFlag } from '../../src/volume/mount-spec.js';

const cli = { base: '/work/here' };
const project = { base: '/repo', home: '/home/alice' };

test('-v: a host path is a bind, a name a volume, a lone path an anonymous volume', () => {
  assert.equal(parseVolumeFlag('/src:/data', cli), { type: 'bind', source: '/src', target: '/data', readonly: false });
  assert.equal(parseVolumeFlag('/src/:/data/../x:ro', cli), { type: 'bind', source: '/src', target: '/x', readonly: true });
  assert.equal(parseVolumeFlag('./rel:/data:rw,z', cli), { type: 'bind', source: '/work/here/rel', target: '/data', readonly: false });
  assert.equal(parseVolumeFlag('/src:/data:rslave', cli), { type: 'bind', source: '/src', target: '/data', readonly: false, propagation: 'rslave' });
  assert.equal(parseVolumeFlag('cache:/root/.cache', cli), { type: 'volume', source: 'cache', target: '/root/.cache', readonly: false });
  assert.equal(parseVolumeFlag('cache:/c:ro,nocopy', cli), { type: 'volume', source: 'cache', target: '/c', readonly: true, nocopy: true });
  assert.equal(parseVolumeFlag('/var/lib/data', cli), { type: 'volume', target: '/var/lib/data', readonly: false });
});

test('--mount: Docker key spellings, volume by default, tmpfs options', () => {
  const bind = { type: 'bind', source: '/src', target: '/data', readonly: true };
  assert.equal(parseMountFlag('type=bind,source=/src,target=/data,readonly', cli), bind);
  assert.equal(parseMountFlag('type=bind,src=/src,dst=/data,ro=true', cli), bind);
  assert.equal(parseMountFlag('type=bind,src=/src,destination=/data,readonly=1', cli), bind);
  assert.equal(parseMountFlag('type=bind,src=/src,dst=/data,bind-propagation=rprivate', cli), { ...bind, readonly: false, propagation: 'rprivate' });
  assert.equal(parseMountFlag('src=cache,dst=/c,volume-nocopy', cli), { type: 'volume', source: 'cache', target: '/c', readonly: false, nocopy: true });
  assert.equal(parseMountFlag('type=volume,dst=/anon', cli), { type: 'volume', target: '/anon', readonly: false });
  assert.equal(parseMountFlag('type=tmpfs,dst=/run,tmpfs-size=64m,tmpfs-mode=0700', cli), {
    type: 'tmpfs',
    target: '/run',
    readonly: false,
    options: ['nosuid', 'nodev', 'size=67108864', 'mode=700'],
  });
});

test('--tmpfs: noexec,nosuid,nodev unless asked otherwise, mode 1777', () => {
  assert.equal(parseTmpfsFlag('/run'), { type: 'tmpfs', target: '/run', readonly: false, options: ['noexec', 'nosuid', 'nodev', 'mode=1777'] });
  assert.equal(parseTmpfsFlag('/run:exec,size=65536k,mode=700,ro'), {
    type: 'tmpfs',
    target: '/run',
    readonly: true,
    options: ['exec', 'nosuid', 'nodev', 'mode=700', 'size=65536k'],
  });
});

test('config files: ~ and relative paths, the object form, either string form', () => {
  assert.equal(parseMountString('npm-cache:~/.npm', project), { type: 'volume', source: 'npm-cache', target: '/home/alice/.npm', readonly: false });
  assert.equal(parseMountString('type=bind,source=./data,target=/data,consistency=cached', project), {
    type: 'bind',
    source: '/repo/data',
    target: '/data',
    readonly: false,
  });
  assert.equal(parseMountString('~/.ssh:/root/.ssh:ro', project), { type: 'bind', source: '/home/alice/.ssh', target: '/root/.ssh', readonly: true });
  assert.equal(parseMountObject({ source: 'gomod', target: '/go/pkg/mod' }, project), {
    type: 'volume',
    source: 'gomod',
    target: '/go/pkg/mod',
    readonly: false,
  });
  assert.equal(parseMountObject({ type: 'tmpfs', target: '/scratch' }, project), {
    type: 'tmpfs',
    target: '/scratch',
    readonly: false,
    options: ['nosuid', 'nodev', 'mode=1777'],
  });
});

for (const [parse, spec, reason] of [
  [(s: string) => parseVolumeFlag(s, cli), '/a:/b:/c:/d', /expected \[SRC:\]DST\[:OPTIONS\]/],
  [(s: string) => parseVolumeFlag(s, cli), '/src:relative', /must be an absolute path/],
  [(s: string) => parseVolumeFlag(s, cli), '/src:/data:rx', /invalid mode: rx/],
  [(s: string) => parseVolumeFlag(s, cli), '/src:/data:nocopy', /invalid mode: nocopy/],
  [(s: string) => parseVolumeFlag(s, cli), 'bad name!:/data', /invalid characters for a local volume name/],
  [(s: string) => parseVolumeFlag(s, cli), '/src:/', /cannot be \//],
  [(s: string) => parseVolumeFlag(s, cli), '/src:/data:rshared', /not possible rootless/],
  [(s: string) => parseMountFlag(s, cli), 'type=nfs,dst=/x', /invalid mount type "nfs"/],
  [(s: string) => parseMountFlag(s, cli), 'type=bind,dst=/x', /needs source=PATH/],
  [(s: string) => parseMountFlag(s, cli), 'type=bind,src=/a', /needs a target/],
  [(s: string) => parseMountFlag(s, cli), 'type=volume,src=v,dst=/x,tmpfs-size=1m', /unexpected key "tmpfs-size" for a volume mount/],
  [(s: string) => parseMountFlag(s, cli), 'type=tmpfs,src=x,dst=/x', /takes no source/],
  [(s: string) => parseMountFlag(s, cli), 'type=tmpfs,dst=/x,tmpfs-size=lots', /invalid tmpfs-size/],
  [(s: string) => parseMountFlag(s, cli), 'type=bind,src=/a,dst=/x,readonly=maybe', /invalid value for readonly/],
  [(s: string) => parseTmpfsFlag(s), '/run:size=big', /invalid tmpfs option "size=big"/],
  [(s: string) => parseTmpfsFlag(s), '/run:suidx', /invalid tmpfs option "suidx"/],
] as const) {
  test(`refused with a reason: ${spec}`, () => {
    let caught: unknown;
    try {
      parse(spec);
    } catch (error) {
      caught = error;
    }
    assert.instance(caught, MountSpecError);
    assert.match((caught as MountSpecError).reason, reason);
  });
}

test.run();
