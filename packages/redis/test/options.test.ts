// Option validation and the budget floor: bad input is a clear TypeError, a too-short budget fails
// before anything is sent, with an error `isContextError` recognises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { background, isContextError, withTimeout } from '@ctxkit/core';
import { useManualClock } from '@ctxkit/testing';
import { budgetTooShort, resolveRedisOptions } from '../src/options.js';

test('defaults apply when no options are given', () => {
  assert.deepEqual(
    { ...resolveRedisOptions('wrapRedis', undefined) },
    {
      minBudgetMs: 1,
      blockingPoolSize: 4,
      blockingTimeoutMarginMs: 50,
      cleanupTimeoutMs: 5000,
    },
  );
});

test('a misspelt option is a TypeError naming it and the near name', () => {
  assert.throws(() => resolveRedisOptions('wrapRedis', { minBudgetMz: 5 } as never), {
    name: 'TypeError',
    message: /wrapRedis: unknown option 'minBudgetMz' \(did you mean 'minBudgetMs'\?\)/,
  });
});

test('bad values are TypeErrors naming the option', () => {
  assert.throws(() => resolveRedisOptions('wrapRedis', { blockingPoolSize: 0 }), /options\.blockingPoolSize must be an integer ≥ 1, got 0/);
  assert.throws(() => resolveRedisOptions('wrapRedis', { blockingPoolSize: 1.5 }), /blockingPoolSize/);
  assert.throws(() => resolveRedisOptions('wrapRedis', { minBudgetMs: -1 }), /options\.minBudgetMs must be a finite number ≥ 0, got -1/);
  assert.throws(() => resolveRedisOptions('wrapRedis', { cleanupTimeoutMs: 0 }), /options\.cleanupTimeoutMs must be a finite number > 0/);
  assert.throws(() => resolveRedisOptions('wrapRedis', { blockingTimeoutMarginMs: Number.NaN }), /blockingTimeoutMarginMs/);
  assert.throws(() => resolveRedisOptions('wrapRedis', 5 as never), /wrapRedis: options must be an object, got number/);
});

test('a budget below the floor fails before sending, as a deadline error', async () => {
  const clock = useManualClock();
  try {
    const o = resolveRedisOptions('wrapRedis', { minBudgetMs: 10 });
    const scope = withTimeout(background(), 50);
    assert.equal(budgetTooShort(scope.ctx, 'GET', o), undefined);
    await clock.advance(45);
    const e = budgetTooShort(scope.ctx, 'GET', o);
    assert.ok(e && isContextError(e));
    assert.match(e.message, /redis GET: 5\.0 ms of budget left, below minBudgetMs \(10 ms\); not sent/);
    assert.equal(budgetTooShort(background(), 'GET', o), undefined);
    scope.cancel();
  } finally {
    clock.restore();
  }
});
