/**
 * DevboxError across copies of its module: each esbuild bundle has its own, and an error one bundle's code
 * throws is caught and reported by another's (`devbox rm` of a project sandbox loads the project bundle).
 * A second import of the module under another URL is such a copy.
 */
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { DevboxError, usageError } from '../../src/util/errors.js';

const other = (await import(`../../src/util/errors.js?copy=${Date.now()}`)) as typeof import('../../src/util/errors.js');

test('a DevboxError of another copy of the module is a DevboxError here, and ours is one there', () => {
  assert.is.not(other.DevboxError, DevboxError);
  assert.ok(other.usageError('bad', 'fix it') instanceof DevboxError);
  assert.ok(new DevboxError('x') instanceof other.DevboxError);
  assert.is(describe(other.usageError('bad', 'fix it')), 'bad (fix it) usage');
});

test('anything else is not, and a subclass still checks its own class', () => {
  for (const value of [new Error('x'), { fix: 'f', kind: 'usage' }, null, undefined, 'text']) assert.not.ok(value instanceof DevboxError, String(value));
  class Narrow extends DevboxError {}
  assert.ok(new Narrow('x') instanceof DevboxError);
  assert.not.ok(usageError('x') instanceof Narrow);
  assert.ok(new Narrow('x') instanceof Narrow);
});

function describe(error: unknown): string {
  return error instanceof DevboxError ? `${error.toLine()} ${error.kind}` : 'not a DevboxError';
}

test.run();
