// The timeout planner (src/timeout-plan.ts) on its own: pure rules, no server. Property tests of
// the invariants statement-timeout.ts relies on — whatever the value in force, the session's
// own value and the budget, applying the plan leaves in force a value inside the statement's
// window, or the session's own value when the statement has no (representable) deadline or the
// session's value is the stricter one — plus examples of parsing and the SQL sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ResolvedOptions } from '../src/options.js';
import { KEEP, MAX_TIMEOUT_MS, RESTORE, parseStatementTimeout, planTimeout, statementTimeoutSql } from '../src/timeout-plan.js';

const options = fc.record({
  serverTimeout: fc.constant(true),
  marginMs: fc.integer({ min: 0, max: 500 }),
  slackRatio: fc.double({ min: 0, max: 1, noNaN: true }),
  slackMs: fc.integer({ min: 0, max: 1000 }),
  cleanupTimeoutMs: fc.constant(5000),
}) as fc.Arbitrary<ResolvedOptions>;

/** The value in force: the session's own (undefined), one of ours, or unknown (NaN). */
const inForce = fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: MAX_TIMEOUT_MS }), fc.constant(Number.NaN));
/** The session's own statement_timeout (0 = none). */
const session = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10 * 60_000 }), fc.constant(MAX_TIMEOUT_MS));
/** A remaining budget: none, ordinary, tiny or past, beyond what statement_timeout holds. */
const budget = fc.oneof(
  fc.constant(undefined),
  fc.double({ min: 0, max: 20_000, noNaN: true }),
  fc.integer({ min: -50, max: 5 }),
  fc.constant(MAX_TIMEOUT_MS + 1),
);

/** What is in force after the plan is applied (undefined = the session's own value). */
function after(current: number | undefined, p: number): number | undefined {
  if (p === KEEP) return current;
  if (p === RESTORE) return undefined;
  return p;
}

test('applying the plan puts in force a value inside the window, or the session value when that is what must hold', () => {
  fc.assert(
    fc.property(inForce, session, budget, options, (cur, sessionMs, r, o) => {
      const p = planTimeout(cur, sessionMs, r, o);
      assert.ok(p === KEEP || p === RESTORE || (Number.isInteger(p) && p >= 1), `a plan is KEEP, RESTORE or ms ≥ 1: ${p}`);
      const v = after(cur, p);
      const sessionLimit = sessionMs === 0 ? Number.POSITIVE_INFINITY : sessionMs;
      const lo = r === undefined ? undefined : Math.max(1, Math.ceil(r + o.marginMs));
      if (lo === undefined || lo > MAX_TIMEOUT_MS) {
        // No deadline (or none statement_timeout can hold): never under a value of ours.
        assert.equal(v, undefined, 'no deadline runs under the session value');
        return;
      }
      if (sessionLimit <= lo) {
        // The session's own limit is the stricter one: it is never raised.
        assert.ok(v === undefined || v === sessionLimit, `the stricter session value stays: ${v}`);
        return;
      }
      const slack = Math.floor(Math.max(o.slackRatio * Math.max(r!, 0), o.slackMs));
      const hi = Math.min(lo + slack, sessionLimit, MAX_TIMEOUT_MS);
      const effective = v === undefined ? sessionLimit : v;
      assert.ok(effective >= lo && effective <= hi, `in force ${effective} within [${lo}, ${hi}]`);
      if (p === KEEP) assert.ok(!Number.isNaN(cur), 'an unknown value is never kept');
    }),
    { numRuns: 5000 },
  );
});

test('the plan is stable: once applied, planning again for the same statement sends nothing', () => {
  fc.assert(
    fc.property(inForce, session, budget, options, (cur, sessionMs, r, o) => {
      const v = after(cur, planTimeout(cur, sessionMs, r, o));
      assert.equal(planTimeout(v, sessionMs, r, o), KEEP);
    }),
    { numRuns: 5000 },
  );
});

test('a value set for one budget is kept for budgets near it (no SET per statement)', () => {
  const o: ResolvedOptions = { serverTimeout: true, marginMs: 50, slackRatio: 0.25, slackMs: 100, cleanupTimeoutMs: 5000 };
  const set = planTimeout(undefined, 0, 10_000, o);
  assert.equal(set, 10_050 + Math.floor(2_500 / 2));
  assert.equal(planTimeout(set, 0, 9_990, o), KEEP);
  assert.equal(planTimeout(set, 0, 10_500, o), KEEP);
  assert.equal(planTimeout(set, 0, 500, o), 550 + Math.floor(125 / 2), 'a much tighter budget needs its own value');
  assert.equal(planTimeout(set, 0, undefined, o), RESTORE, 'no deadline: the session value back');
  assert.equal(planTimeout(undefined, 0, undefined, o), KEEP, 'no deadline, nothing of ours: nothing sent');
  assert.equal(planTimeout(undefined, 300, 1_000, o), KEEP, 'a stricter session value is kept');
  assert.equal(planTimeout(700, 300, 1_000, o), RESTORE, 'and put back when ours is in force');
});

test('SHOW statement_timeout output parses to milliseconds', () => {
  assert.equal(parseStatementTimeout('0'), 0);
  assert.equal(parseStatementTimeout('250ms'), 250);
  assert.equal(parseStatementTimeout('30s'), 30_000);
  assert.equal(parseStatementTimeout('5min'), 300_000);
  assert.equal(parseStatementTimeout('1h'), 3_600_000);
  assert.equal(parseStatementTimeout('1d'), 86_400_000);
  assert.equal(parseStatementTimeout('1500'), 1500);
  assert.equal(parseStatementTimeout('soon'), undefined);
  assert.equal(parseStatementTimeout('5 fortnights'), undefined);
});

test('the SQL sent: ms as a number, the session value back as the quoted text SHOW printed', () => {
  assert.equal(statementTimeoutSql('SET', 1234, undefined), 'SET statement_timeout = 1234');
  assert.equal(statementTimeoutSql('SET LOCAL', 99, '30s'), 'SET LOCAL statement_timeout = 99');
  assert.equal(statementTimeoutSql('SET', RESTORE, '30s'), "SET statement_timeout = '30s'");
  assert.equal(statementTimeoutSql('SET LOCAL', RESTORE, "it's"), "SET LOCAL statement_timeout = 'it''s'");
});
