import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { containerArgs, containerEnv, containerWorkdir, DEFAULT_PATH, type ProcessRequest } from '../../src/sandbox/container-process.js';
import { parseGroup, parsePasswd, resolveUser } from '../../src/image/passwd.js';

const request = (over: Partial<ProcessRequest> = {}): ProcessRequest => ({ command: [], env: [], tty: false, hostname: 'h', ...over });
const image = { Entrypoint: ['/entry'], Cmd: ['default', 'args'], Env: ['PATH=/img/bin', 'A=1'], WorkingDir: '/app' };

test('ENTRYPOINT and CMD combine; arguments replace CMD; --entrypoint drops the image CMD', () => {
  assert.equal(containerArgs(image, request()), ['/entry', 'default', 'args']);
  assert.equal(containerArgs(image, request({ command: ['x'] })), ['/entry', 'x']);
  assert.equal(containerArgs(image, request({ entrypoint: '/other' })), ['/other']);
  assert.equal(containerArgs(image, request({ entrypoint: '', command: ['sh'] })), ['sh']);
});

test('an image with neither CMD nor ENTRYPOINT and no command is refused', () => {
  assert.throws(() => containerArgs({}, request()), /no command specified/);
});

test('environment: defaults, then image ENV, then -e; -e KEY copies the host value when set', () => {
  const env = containerEnv(image, request({ env: ['A=2', 'FROM_HOST', 'UNSET_ON_HOST'], tty: true }), '/root', { FROM_HOST: 'yes' });
  assert.equal(env, ['PATH=/img/bin', 'HOSTNAME=h', 'TERM=xterm', 'A=2', 'FROM_HOST=yes', 'HOME=/root']);
  assert.ok(containerEnv({}, request(), '/', {}).includes(`PATH=${DEFAULT_PATH}`));
});

test('working directory: -w over WORKDIR over /, and it must be absolute', () => {
  assert.is(containerWorkdir(image, request()), '/app');
  assert.is(containerWorkdir(image, request({ workdir: '/src/../tmp' })), '/tmp');
  assert.is(containerWorkdir({}, request()), '/');
  assert.throws(() => containerWorkdir({}, request({ workdir: 'rel' })), /needs to be an absolute path/);
});

const passwd = parsePasswd('root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbroken line\n');
const group = parseGroup('root:x:0:\nalice:x:1000:\nwheel:x:10:alice,bob\nstaff:x:50:alice\n');

test('USER by name takes uid, primary gid, home and supplementary groups from the image', () => {
  assert.equal(resolveUser('alice', passwd, group), { uid: 1000, gid: 1000, groups: [1000, 10, 50], home: '/home/alice' });
  assert.equal(resolveUser('root', passwd, group), { uid: 0, gid: 0, groups: [0], home: '/root' });
});

test('USER by number needs no passwd entry; an explicit group replaces the memberships', () => {
  assert.equal(resolveUser('4242', passwd, group), { uid: 4242, gid: 0, groups: [0], home: '/' });
  assert.equal(resolveUser('alice:staff', passwd, group), { uid: 1000, gid: 50, groups: [50], home: '/home/alice' });
  assert.equal(resolveUser('1000:7', passwd, group), { uid: 1000, gid: 7, groups: [7], home: '/home/alice' });
});

test('unknown user or group names are refused', () => {
  assert.throws(() => resolveUser('mallory', passwd, group), /unable to find user mallory/);
  assert.throws(() => resolveUser('alice:nogroup', passwd, group), /unable to find group nogroup/);
});

test.run();
