import { test, after } from 'node:test';
import { leakCheckAfterAll, useManualClock } from '@ctxkit/testing';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { background, getClock, withTimeout } from '@ctxkit/core';
import {
  BAGGAGE_MAX_BYTES,
  BAGGAGE_MAX_MEMBERS,
  InvalidHeaderError,
  MAX_BUDGET_MS,
  extract,
  formatGrpcTimeout,
  inject,
  parseBaggage,
  parseGrpcTimeout,
  serializeBaggage,
  withBaggage,
  getBaggage,
} from '@ctxkit/http';

leakCheckAfterAll(after);

const HEADERS = ['ctxkit-timeout-ms', 'grpc-timeout', 'x-envoy-expected-rq-timeout-ms', 'traceparent', 'tracestate', 'baggage'];

const headerValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.stringMatching(/^[0-9]{1,12}[HMSmun]?$/),
  fc.constantFrom('0', '1n', '99999999H', '100000000S', ' 5m ', '-1', '1.5', '1e3', '0x10', 'Infinity', 'NaN', ''),
  fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }),
  fc.string({ minLength: 9000, maxLength: 9100 }),
);

test('extract never throws anything but InvalidHeaderError, and the deadline is always clamped', () => {
  fc.assert(
    fc.property(
      fc.dictionary(fc.constantFrom(...HEADERS), headerValue),
      fc.option(fc.nat({ max: 10 ** 9 }), { nil: undefined }),
      fc.option(fc.nat({ max: 10 ** 9 }), { nil: undefined }),
      fc.boolean(),
      (headers, timeoutMs, maxTimeoutMs, ignore) => {
        const before = getClock().now();
        let scope;
        try {
          scope = extract(headers, background(), { timeoutMs, maxTimeoutMs, invalid: ignore ? 'ignore' : 'reject', baggage: ['a', 'b'] });
        } catch (e) {
          assert.ok(e instanceof InvalidHeaderError, `unexpected ${String(e)}`);
          assert.equal(ignore, false, 'ignore mode never throws');
          assert.ok(e.message.length < 300, 'the message is bounded');
          return;
        }
        try {
          const d = scope.ctx.deadline;
          const limit = Math.min(timeoutMs ?? Infinity, maxTimeoutMs ?? Infinity, MAX_BUDGET_MS);
          if (d !== undefined) {
            assert.ok(!Number.isNaN(d));
            assert.ok(d >= before, 'never in the past relative to arrival');
            assert.ok(d <= getClock().now() + limit, 'never beyond the limits');
          } else {
            assert.equal(timeoutMs, undefined);
            assert.equal(maxTimeoutMs, undefined);
          }
          assert.ok(getBaggage(scope.ctx).size <= BAGGAGE_MAX_MEMBERS);
        } finally {
          scope.cancel();
        }
      },
    ),
    { numRuns: 500 },
  );
});

test('grpc-timeout: 1–8 digits and a unit; formatting round-trips within one unit and never grows', () => {
  assert.equal(parseGrpcTimeout('1S'), 1000);
  assert.equal(parseGrpcTimeout('2H'), 7_200_000);
  assert.equal(parseGrpcTimeout('500u'), 0.5);
  assert.equal(parseGrpcTimeout('123456789m'), undefined);
  assert.equal(parseGrpcTimeout('5s'), undefined);
  assert.equal(parseGrpcTimeout('S'), undefined);
  fc.assert(
    fc.property(fc.double({ min: 0, max: MAX_BUDGET_MS, noNaN: true }), (ms) => {
      const v = formatGrpcTimeout(ms);
      assert.match(v, /^\d{1,8}[HMSmun]$/);
      const back = parseGrpcTimeout(v)!;
      assert.ok(back <= ms + 1e-9, `${v} grew ${ms}`);
      assert.ok(ms - back <= 1000, `${v} lost more than a unit of ${ms}`);
    }),
  );
});

test('baggage parsing is bounded and never throws; serialising respects the W3C limits', () => {
  const allow = new Set(['a', 'b', 'k0', 'k1', 'k179', 'k200']);
  fc.assert(
    fc.property(fc.string({ maxLength: 10_000 }), (h) => {
      const m = parseBaggage(h, allow);
      assert.ok(m === undefined || m.size <= allow.size);
    }),
  );
  const many = new Map(Array.from({ length: 300 }, (_, i) => [`k${i}`, 'x'.repeat(60)] as const));
  const all = new Set(many.keys());
  const out = serializeBaggage(many, all)!;
  assert.ok(out.length <= BAGGAGE_MAX_BYTES);
  assert.ok(out.split(',').length <= BAGGAGE_MAX_MEMBERS);
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.string({ maxLength: 50 })), (entries) => {
      const ctx = withBaggage(background(), entries);
      const h = inject(ctx, {} as Record<string, string>, { baggage: ['a', 'b'] });
      const back = h.baggage === undefined ? new Map() : (parseBaggage(h.baggage, new Set(['a', 'b'])) ?? new Map());
      for (const k of ['a', 'b']) {
        const v = entries[k];
        if (v !== undefined && !/[\uD800-\uDFFF]/.test(v)) assert.equal(back.get(k), v);
      }
      assert.equal(back.has('c'), false, 'not on the allowlist: never sent');
    }),
  );
});

test('inject/extract are transport-neutral: records, Headers, Map-like get/set and functions', () => {
  const clock = useManualClock(); // time stands still: the budget arrives exactly
  try {
    transportNeutral();
  } finally {
    clock.restore();
  }
});

function transportNeutral(): void {
  const scope = withTimeout(background(), 10_000);
  const rec = inject(scope.ctx, {} as Record<string, string>, { marginMs: 0 });
  const hdrs = inject(scope.ctx, new Headers(), { marginMs: 0 });
  const map = inject(scope.ctx, new Map<string, string>(), { marginMs: 0 });
  const fnStore: Record<string, string> = {};
  inject(
    scope.ctx,
    (k: string, v: string) => {
      fnStore[k] = v;
    },
    { marginMs: 0 },
  );
  for (const src of [rec, hdrs, map, (k: string) => fnStore[k]]) {
    const child = extract(src, background());
    assert.equal(child.ctx.deadline, scope.ctx.deadline);
    child.cancel();
  }
  // gRPC-metadata-like: get() returns an array of values
  const md = { get: (k: string) => (k === 'grpc-timeout' ? ['250m'] : []) };
  const g = extract(md, background());
  assert.equal(g.ctx.deadline, getClock().now() + 250);
  g.cancel();
  // conflicting duplicates are malformed
  assert.throws(() => extract({ 'ctxkit-timeout-ms': ['10', '20'] }, background()), InvalidHeaderError);
  scope.cancel();
}

test('bad options are TypeErrors naming the option', () => {
  assert.throws(() => extract({}, background(), { timeoutMs: -1 }), /timeoutMs/);
  assert.throws(() => extract({}, background(), { invalid: 'nope' as 'ignore' }), /invalid/);
  assert.throws(() => extract({}, background(), { baggage: ['bad key'] }), /baggage/);
  assert.throws(() => inject(background(), {}, { marginMs: Number.NaN }), /marginMs/);
  assert.throws(() => extract(null as never, background()), /headers/);
});
