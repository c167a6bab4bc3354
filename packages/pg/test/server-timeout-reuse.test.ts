// The server-side timeout without a round trip per statement: a statement_timeout a deadline
// statement set stays in force on its connection and is reused by the next statements whose
// budgets it fits (every statement sent is counted by a spy on the client's query); it is never
// tighter than a statement's remaining budget + margin nor looser than the window allows (read
// with current_setting inside the statement itself, over random sequences — fast-check); and it
// never leaks: a statement without a deadline, or with a longer one, on the same pooled
// connection — through this package or plain node-postgres — is not killed by it.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import fc from 'fast-check';
import { background, remaining, withCancel, withTimeout, type Context } from '@ctxkit/core';
import { exploreCancellation, leakCheckAfterAll } from '@ctxkit/testing';
import { wrapPool, type Db } from '@ctxkit/pg';
import { appName, makePool, openTestDatabase, poolAtRest } from './helpers.js';

const database = await openTestDatabase('@ctxkit/pg server-timeout reuse tests');
leakCheckAfterAll(after);

const IN_FORCE = `SELECT current_setting('statement_timeout') AS t`;
const MARGIN = 50;

/** statement_timeout as milliseconds, from what current_setting/SHOW print. */
function ms(shown: string): number {
  const m = /^(\d+)(ms|s|min)?$/.exec(shown);
  assert.ok(m, `unexpected statement_timeout ${shown}`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'min' ? 60_000 : 1);
}

/** The largest value the window of the default options allows for a statement made with `budget`. */
function ceiling(budget: number): number {
  return budget + MARGIN + Math.max(0.25 * budget, 100);
}

/**
 * Asserts `inside` (ms in force while a statement of `ctx` ran) was not tighter than its
 * remaining budget + margin (what remains now is at most what remained when it started) and not
 * looser than the window for `budget`, the budget `ctx` was made with.
 */
function assertInWindow(inside: number, ctx: Context, budget: number, what: string): void {
  const floor = remaining(ctx) + MARGIN;
  assert.ok(
    inside >= floor && inside <= ceiling(budget),
    `${what}: statement_timeout ${inside} ms outside [${floor.toFixed(1)}, ${ceiling(budget)}]`,
  );
}

const isTimeoutStatement = (text: string): boolean => /statement_timeout/i.test(text) && text !== IN_FORCE;

describe('@ctxkit/pg server-side timeout reuse', { skip: database === undefined ? 'no PostgreSQL (see the line above)' : false }, () => {
  const app = appName('reuse');
  let pool: pg.Pool;
  let db: Db;
  /** Every statement text sent on the pool's connections, in order. */
  const sent: string[] = [];
  /** Called with each statement text as it is handed to node-postgres. */
  let onSend: ((text: string) => void) | undefined;

  before(() => {
    pool = makePool(database!, app, { max: 1 }); // one connection: its session state is observable
    pool.on('connect', (client) => {
      const query = client.query;
      (client as { query: unknown }).query = function spy(this: pg.PoolClient, ...args: unknown[]) {
        const first = args[0] as string | { text?: string };
        const text = typeof first === 'string' ? first : String(first?.text);
        sent.push(text);
        onSend?.(text);
        return (query as (...a: unknown[]) => unknown).apply(this, args);
      };
    });
    db = wrapPool(pool);
  });
  beforeEach(() => {
    sent.length = 0;
  });
  after(async () => {
    await pool?.end();
    await database?.stop();
  });

  /** One `db.query` of `sql` under a fresh deadline of `budget` ms. */
  async function withBudget(budget: number, sql: string): Promise<pg.QueryResult> {
    const s = withTimeout(background(), budget);
    try {
      return await db.query(s.ctx, sql);
    } finally {
      s.cancel();
    }
  }

  test('consecutive statements with similar budgets send no SET after the first', async () => {
    await withBudget(10_000, 'SELECT 1'); // the connection learns the session's value and gets one SET
    sent.length = 0;
    for (let i = 0; i < 20; i++) await withBudget(10_000, 'SELECT 1');
    assert.deepEqual(sent, Array(20).fill('SELECT 1'), 'twenty requests with a 10 s budget: the statements alone');

    // One request whose budget shrinks as its statements run: at most one SET, for its first one.
    sent.length = 0;
    const request = withTimeout(background(), 2_000);
    for (let i = 0; i < 10; i++) await db.query(request.ctx, 'SELECT 1');
    request.cancel();
    assert.equal(sent.filter((t) => t === 'SELECT 1').length, 10);
    assert.ok(sent.filter(isTimeoutStatement).length <= 1, `extra statements: ${JSON.stringify(sent)}`);

    // Transactions with a deadline the session's value fits: BEGIN alone, no SET LOCAL.
    await withBudget(10_000, 'SELECT 1');
    sent.length = 0;
    for (let i = 0; i < 5; i++) {
      const s = withTimeout(background(), 10_000);
      await db.transaction(s.ctx, (tx) => tx.query(s.ctx, 'SELECT 1'));
      s.cancel();
    }
    assert.deepEqual(sent, Array(5).fill(['BEGIN', 'SELECT 1', 'COMMIT']).flat());
  });

  test('a budget the value in force does not fit gets one SET, left in force for the next ones', async () => {
    await withBudget(10_000, 'SELECT 1');
    sent.length = 0;
    const inside = ms((await withBudget(60_000, IN_FORCE)).rows[0].t);
    assert.ok(inside >= 60_000 && inside <= ceiling(60_000), `60 s statement: ${inside} ms`);
    assert.deepEqual(
      sent.map((t) => isTimeoutStatement(t)),
      [true, false],
      `sent: ${JSON.stringify(sent)}`,
    );
    sent.length = 0;
    await withBudget(60_000, 'SELECT 1');
    assert.deepEqual(sent, ['SELECT 1']);
  });

  test("random sequences: every statement runs within its window; without a deadline, under the session's own value", async () => {
    const budget = fc.option(fc.constantFrom(150, 400, 1_000, 1_100, 3_000, 10_000, 60_000), { nil: undefined });
    const step = fc.oneof(
      fc.record({ kind: fc.constant('query' as const), budget }),
      fc.record({ kind: fc.constant('plain' as const) }),
      fc.record({ kind: fc.constant('tx' as const), budget, statements: fc.array(budget, { minLength: 1, maxLength: 3 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        for (const st of steps) {
          if (st.kind === 'plain') {
            // node-postgres itself, on the same pooled connection
            assert.equal((await pool.query(IN_FORCE)).rows[0].t, '0', 'plain pool.query after wrapped statements');
          } else if (st.kind === 'query') {
            if (st.budget === undefined) {
              assert.equal((await db.query(background(), IN_FORCE)).rows[0].t, '0', 'no deadline');
            } else {
              const s = withTimeout(background(), st.budget);
              const inside = ms((await db.query(s.ctx, IN_FORCE)).rows[0].t);
              assertInWindow(inside, s.ctx, st.budget, `db.query with ${st.budget} ms`);
              s.cancel();
            }
          } else {
            const t = st.budget === undefined ? withCancel(background()) : withTimeout(background(), st.budget);
            await db.transaction(t.ctx, async (tx) => {
              for (const b of st.statements) {
                const s = b === undefined ? withCancel(t.ctx) : withTimeout(t.ctx, b);
                const shown = (await tx.query(s.ctx, IN_FORCE)).rows[0].t as string;
                const effective = Math.min(b ?? Infinity, st.budget ?? Infinity);
                if (effective === Infinity) assert.equal(shown, '0', 'no deadline in the transaction');
                else assertInWindow(ms(shown), s.ctx, effective, `tx.query with ${b} ms in a ${st.budget} ms transaction`);
                s.cancel();
              }
            });
            t.cancel();
          }
        }
      }),
      { numRuns: 25 },
    );
    assert.deepEqual(poolAtRest(pool), { checkedOut: 0, waiting: 0 });
  });

  test("a deadline beyond what statement_timeout can hold (~24.8 days) runs under the session's own value", async () => {
    await withBudget(1_000, 'SELECT 1'); // a value of ours in force
    const far = withTimeout(background(), 30 * 86_400_000);
    assert.equal((await db.query(far.ctx, IN_FORCE)).rows[0].t, '0');
    const inTx = await db.transaction(far.ctx, async (tx) => (await tx.query(far.ctx, IN_FORCE)).rows[0].t as string);
    far.cancel();
    assert.equal(inTx, '0');
    const edge = withTimeout(background(), 2_147_483_647 - 60); // fits, but its window is cut at the maximum
    const inside = ms((await db.query(edge.ctx, IN_FORCE)).rows[0].t);
    edge.cancel();
    assert.ok(inside <= 2_147_483_647 && inside >= 2_147_483_647 - 60, `near the maximum: ${inside} ms`);
  });

  test('a value left by a tight deadline never kills a later statement that needs longer', async () => {
    // 200 ms budget → the server's timeout is at most 350 ms; each statement below sleeps 500 ms.
    const tight = async (): Promise<void> => {
      const inside = ms((await withBudget(200, IN_FORCE)).rows[0].t);
      assert.ok(inside <= ceiling(200), `tight: ${inside} ms`);
    };
    const SLEEP = 'SELECT pg_sleep(0.5) AS slept';

    await tight();
    await db.query(background(), SLEEP); // no deadline

    await tight();
    await withBudget(5_000, SLEEP); // a longer deadline

    await tight();
    await db.transaction(background(), (tx) => tx.query(background(), SLEEP)); // a transaction without one

    await tight();
    const t = withTimeout(background(), 5_000);
    await db.transaction(t.ctx, (tx) => tx.query(t.ctx, SLEEP)); // one with a longer one
    t.cancel();

    await tight();
    const off = wrapPool(pool, { serverTimeout: false });
    await off.query(background(), SLEEP); // another wrapper, with the server-side timeout off

    await tight();
    await pool.query(SLEEP); // plain node-postgres, same pooled connection

    await tight();
    const client = await pool.connect(); // checked out by hand
    try {
      await client.query(SLEEP);
      assert.equal((await client.query(IN_FORCE)).rows[0].t, '0');
    } finally {
      client.release();
    }
    assert.deepEqual(poolAtRest(pool), { checkedOut: 0, waiting: 0 });
  });

  test('a statement cancelled while its SET is in flight leaves nothing stale behind', async () => {
    for (let i = 0; i < 5; i++) {
      await withBudget(60_000, 'SELECT 1'); // the next budget will not fit: a SET is needed
      const s = withTimeout(background(), 1_000 + i);
      // Cancel the moment the SET goes out: the cancel request then races the SET in the server.
      let cancelledAt: string | undefined;
      onSend = (text) => {
        if (!isTimeoutStatement(text)) return;
        cancelledAt = text;
        s.cancel();
      };
      const outcome = await db.query(s.ctx, 'SELECT 1').then(
        () => 'done',
        (e: unknown) => e,
      );
      onSend = undefined;
      s.cancel();
      assert.match(cancelledAt ?? '', /^SET statement_timeout = \d+$/);
      assert.equal(outcome, s.ctx.err, 'the caller gets ctx.err');
      assert.equal((await db.query(background(), IN_FORCE)).rows[0].t, '0', "no deadline: the session's own value");
      const again = withTimeout(background(), 1_000);
      assertInWindow(ms((await db.query(again.ctx, IN_FORCE)).rows[0].t), again.ctx, 1_000, 'the next deadline');
      again.cancel();
    }
  });

  test('exploreCancellation: deadline statements cancelled at every point leave nothing stale (the mid-SET case is the test above)', async () => {
    const result = await exploreCancellation(
      async (ctx) => {
        for (const budget of [60_000, 1_000, 60_000]) {
          // each needs a SET: the previous one does not fit
          const t = withTimeout(ctx, budget);
          try {
            await db.query(t.ctx, 'SELECT 1');
          } finally {
            t.cancel();
          }
        }
        const t = withTimeout(ctx, 2_000);
        try {
          await db.transaction(t.ctx, (tx) => tx.query(t.ctx, 'SELECT 1'));
        } finally {
          t.cancel();
        }
      },
      {
        timeoutMs: 10_000,
        graceMs: 1_000,
        invariant: async () => {
          assert.deepEqual(poolAtRest(pool), { checkedOut: 0, waiting: 0 });
          assert.equal((await db.query(background(), IN_FORCE)).rows[0].t, '0', 'through the wrapper');
          await withBudget(1_000, 'SELECT 1');
          assert.equal((await pool.query(IN_FORCE)).rows[0].t, '0', 'plain node-postgres');
          return true;
        },
      },
    );
    assert.deepEqual(result.failures, []);
    assert.ok(result.points >= 4, `explored ${result.points} points`);
  });
});
