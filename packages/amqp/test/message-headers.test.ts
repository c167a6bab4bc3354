// The message properties read besides the codec's headers are untrusted input: a malformed value
// counts as absent, never a crash, and never adds budget.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deliveryCount, expirationBudget, queueTime, readCount } from '../src/message-headers.js';

test('x-delivery-count: a number or digits counts; anything else falls back to the redelivered flag', () => {
  assert.deepEqual(deliveryCount({ 'x-delivery-count': 2 }, true), { n: 3, counted: true });
  assert.deepEqual(deliveryCount({ 'x-delivery-count': '4' }, true), { n: 5, counted: true });
  for (const bad of [-1, 1.5, Number.NaN, 'x', '', '12345678901', {}, null, [1]]) {
    assert.deepEqual(deliveryCount({ 'x-delivery-count': bad }, true), { n: 2, counted: false }, String(bad));
  }
  assert.deepEqual(deliveryCount(undefined, false), { n: 1, counted: false });
});

test('queue time: the wait since ctxkit-sent-ms, 0 when absent, malformed or in the future', () => {
  assert.equal(queueTime({ 'ctxkit-sent-ms': '1000' }, 1250), 250);
  assert.equal(queueTime({ 'ctxkit-sent-ms': Buffer.from('1000') }, 1250), 250);
  assert.equal(queueTime({ 'ctxkit-sent-ms': '2000' }, 1250), 0);
  for (const bad of ['soon', '-5', '1e3', '1234567890123456', 12.5])
    assert.equal(queueTime({ 'ctxkit-sent-ms': bad }, 1250), 0, String(bad));
  assert.equal(queueTime(undefined, 1250), 0);
});

test('expiration budget: the TTL less the time since timestamp (seconds or ms), never negative', () => {
  assert.equal(expirationBudget('5000', undefined, 10_000), 5000);
  assert.equal(expirationBudget('5000', 8, 10_000), 3000); // seconds
  assert.equal(expirationBudget('5000', 1.7e12, 1.7e12 + 1000), 4000); // epoch ms
  assert.equal(expirationBudget('5000', 1, 10_000), 0);
  assert.equal(expirationBudget('5000', 20, 10_000), 5000); // a timestamp in the future adds nothing
  assert.equal(expirationBudget('later', 1, 10_000), undefined);
  assert.equal(expirationBudget(undefined, 1, 10_000), undefined);
  assert.equal(readCount('99999999999', 10), undefined);
});
