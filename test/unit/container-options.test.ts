import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { parseDetachKeys, parseDuration, parseRestartPolicy, parseUserns, resolveHealthcheck } from '../../src/container/options.js';
import { parseLogText } from '../../src/container/logs.js';
import { freeSubordinateLine } from '../../src/userns/idmap.js';

test('restart policies as docker spells them; anything else is refused', () => {
  assert.equal(parseRestartPolicy('on-failure:3'), { name: 'on-failure', maximumRetryCount: 3 });
  assert.equal(parseRestartPolicy('unless-stopped'), { name: 'unless-stopped', maximumRetryCount: 0 });
  for (const bad of ['sometimes', 'always:2', 'on-failure:x']) assert.throws(() => parseRestartPolicy(bad), /invalid restart policy/);
});

test('Go durations and detach keys', () => {
  assert.is(parseDuration('1m30s', 'x'), 90_000);
  assert.is(parseDuration('250ms', 'x'), 250);
  assert.throws(() => parseDuration('10', '--health-interval'), /--health-interval: invalid duration "10"/);
  assert.equal(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
  assert.equal(parseDetachKeys('a,ctrl-@'), [97, 0]);
  assert.throws(() => parseDetachKeys('ctrl-pq'), /invalid detach keys/);
});

test("health checks: the options over the image's HEALTHCHECK, docker's defaults, NONE and --no-healthcheck disable", () => {
  const image = { Test: ['CMD', 'true'], Interval: 5e9, Retries: 5 };
  assert.equal(resolveHealthcheck({ none: false }, image), {
    test: ['CMD', 'true'],
    interval: 5000,
    timeout: 30000,
    startPeriod: 0,
    startInterval: 5000,
    retries: 5,
  });
  assert.equal(resolveHealthcheck({ none: false, cmd: 'curl x', interval: '1s' }, image)?.test, ['CMD-SHELL', 'curl x']);
  assert.is(resolveHealthcheck({ none: true }, image), undefined);
  assert.is(resolveHealthcheck({ none: false }, { Test: ['NONE'] }), undefined);
  assert.throws(() => resolveHealthcheck({ none: false, cmd: 'x', retries: '0' }, undefined), /--health-retries/);
});

test('k8s-file log lines: streams kept apart, parts joined to the line they continue', () => {
  const text = ['2024-01-01T00:00:00.1Z stdout P hel', '2024-01-01T00:00:00.2Z stdout F lo', '2024-01-01T00:00:00.3Z stderr F oops', ''].join('\n');
  assert.equal(parseLogText(text), [
    { time: '2024-01-01T00:00:00.1Z', stream: 'stdout', text: 'hello' },
    { time: '2024-01-01T00:00:00.3Z', stream: 'stderr', text: 'oops' },
  ]);
});

test('the suggested subordinate range starts past every range already given out', () => {
  assert.is(freeSubordinateLine('alice:100000:65536\nbob:165536:65536\n', 'carol'), 'carol:231072:65536');
  assert.is(freeSubordinateLine('', 'carol'), 'carol:100000:65536');
});

test('--userns as podman spells it: host, keep-id with uid= and gid=; anything else is refused', () => {
  assert.equal(parseUserns(''), { mode: 'default' });
  assert.equal(parseUserns('host'), { mode: 'host' });
  assert.equal(parseUserns('keep-id'), { mode: 'keep-id' });
  assert.equal(parseUserns('keep-id:uid=1000,gid=100'), { mode: 'keep-id', uid: 1000, gid: 100 });
  assert.throws(() => parseUserns('auto'), /unsupported --userns "auto"/);
  for (const bad of ['keep-id:', 'keep-id:uid=', 'keep-id:size=5', 'keep-id:uid=99999999999']) assert.throws(() => parseUserns(bad), /invalid --userns/);
});

test.run();
