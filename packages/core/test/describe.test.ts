import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asError, describeValue } from '@ctxkit/core';

test('describeValue names what was passed without printing it', () => {
  const cases: Array<[unknown, string]> = [
    [null, 'null'],
    [undefined, 'undefined'],
    [[1, 2], 'an array'],
    [Number.NaN, 'NaN'],
    [42, 'number'],
    ['secret-token', 'string'],
    [{}, 'an Object'],
    [new Map(), 'a Map'],
    [Object.create(null), 'an Object'],
    [() => {}, 'a function'],
  ];
  for (const [v, want] of cases) assert.equal(describeValue(v), want);
});

test('asError keeps Errors and wraps anything else with it as the cause', () => {
  const e = new RangeError('x');
  assert.equal(asError(e), e);
  const wrapped = asError('boom');
  assert.ok(wrapped instanceof Error);
  assert.equal(wrapped.message, 'boom');
  assert.equal(wrapped.cause, 'boom');
});
