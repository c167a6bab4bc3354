// The pure planner both adapters rely on: which commands block, and the timeout they are sent with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { blockingTimeout, clampBlockingArgs, isBlocking } from '../src/blocking-plan.js';

test('list, sorted-set and WAIT commands block; plain commands do not', () => {
  for (const c of ['BLPOP', 'brpop', 'BRPOPLPUSH', 'BLMOVE', 'BLMPOP', 'BZPOPMIN', 'BZPOPMAX', 'BZMPOP', 'WAIT', 'WAITAOF']) {
    assert.equal(isBlocking(c, ['0', '0', '0']), true, c);
  }
  for (const c of ['GET', 'SET', 'LPOP', 'XADD', 'XRANGE']) assert.equal(isBlocking(c, ['k', '0']), false, c);
});

test('XREAD and XREADGROUP block only with BLOCK before STREAMS', () => {
  assert.deepEqual(blockingTimeout('XREAD', ['COUNT', 5, 'BLOCK', 100, 'STREAMS', 's', '$']), { index: 3, unit: 'ms' });
  assert.equal(isBlocking('XREAD', ['COUNT', 5, 'STREAMS', 's', '0']), false);
  // A stream named BLOCK after STREAMS is a key, not the option.
  assert.equal(isBlocking('xread', ['STREAMS', 'BLOCK', '0']), false);
  // A group and a consumer named BLOCK are operands of GROUP.
  assert.equal(isBlocking('XREADGROUP', ['GROUP', 'BLOCK', 'BLOCK', 'STREAMS', 's', '>']), false);
  assert.deepEqual(blockingTimeout('XREADGROUP', ['GROUP', 'g', 'c', 'BLOCK', '0', 'NOACK', 'STREAMS', 's', '>']), {
    index: 4,
    unit: 'ms',
  });
  assert.equal(isBlocking('XREAD', [Buffer.from('block'), '5', 'STREAMS', 's', '$']), true);
});

test('without a deadline the arguments are sent as given', () => {
  const args = ['q', 0];
  assert.equal(clampBlockingArgs('BLPOP', args, Infinity, 50), args);
});

test('a forever block is clamped to the remaining budget plus the margin', () => {
  assert.deepEqual(clampBlockingArgs('BLPOP', ['q1', 'q2', 0], 1000, 50), ['q1', 'q2', '1.050']);
  assert.deepEqual(clampBlockingArgs('BLMPOP', [0, 1, 'q', 'LEFT'], 200, 0), ['0.200', 1, 'q', 'LEFT']);
  assert.deepEqual(clampBlockingArgs('XREAD', ['BLOCK', '0', 'STREAMS', 's', '$'], 99.2, 0), ['BLOCK', '100', 'STREAMS', 's', '$']);
  assert.deepEqual(clampBlockingArgs('WAIT', [1, 0], 10, 5), [1, '15']);
});

test("a caller's shorter timeout is kept; a longer one is clamped", () => {
  const short = ['q', '0.5'];
  assert.equal(clampBlockingArgs('BRPOP', short, 2000, 50), short);
  assert.deepEqual(clampBlockingArgs('BRPOP', ['q', 30], 2000, 50), ['q', '2.050']);
});

test('a clamped timeout is never 0, which Redis reads as forever', () => {
  assert.deepEqual(clampBlockingArgs('BLPOP', ['q', 0], 0, 0), ['q', '0.001']);
  assert.deepEqual(clampBlockingArgs('XREAD', ['BLOCK', 0, 'STREAMS', 's', '$'], 0, 0), ['BLOCK', '1', 'STREAMS', 's', '$']);
});

test('a timeout that is not a number is left for Redis to reject', () => {
  const bad = ['q', 'soon'];
  assert.equal(clampBlockingArgs('BLPOP', bad, 100, 0), bad);
  assert.equal(clampBlockingArgs('BLPOP', [], 100, 0).length, 0);
  const neg = ['q', '-1'];
  assert.equal(clampBlockingArgs('BLPOP', neg, 100, 0), neg);
});

test('property: the clamped server timeout never exceeds budget + margin nor the caller’s own', () => {
  fc.assert(
    fc.property(
      fc.nat(100_000),
      fc.double({ min: 0, max: 1e6, noNaN: true }),
      fc.nat(1000),
      fc.boolean(),
      (givenMs, remainingMs, marginMs, seconds) => {
        const cmd = seconds ? 'BLPOP' : 'XREAD';
        const args = seconds ? ['q', givenMs / 1000] : ['BLOCK', givenMs, 'STREAMS', 's', '$'];
        const out = clampBlockingArgs(cmd, args, remainingMs, marginMs);
        const sent = Number(seconds ? out[1] : out[1]) * (seconds ? 1000 : 1);
        const cap = Math.max(1, Math.ceil(remainingMs + marginMs));
        assert.ok(sent > 0, 'never forever');
        assert.ok(sent <= cap + 0.5, `sent ${sent} > cap ${cap}`);
        if (givenMs !== 0) assert.ok(sent <= givenMs, `sent ${sent} > given ${givenMs}`);
      },
    ),
  );
});
