// Deadlines enforced by the server too: the remaining budget becomes statement_timeout (checked
// with current_setting inside the statement itself) within the window [R + margin, R + margin +
// slack], the session's own setting is back for statements without a deadline and never raised,
// and the server stops a statement on its own even when this process's timer never fires (a
// manual clock that does not move).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { background, isDeadlineExceeded, remaining, withTimeout, type Context } from '@ctxkit/core';
import { leakCheckAfterAll, useManualClock } from '@ctxkit/testing';
import { wrapClient, wrapPool, type Db } from '@ctxkit/pg';
import { appName, makePool, openTestDatabase, poolAtRest, waitNoneActive } from './helpers.js';

const database = await openTestDatabase('@ctxkit/pg timeout tests');
leakCheckAfterAll(after);

/** statement_timeout as milliseconds, from what current_setting/SHOW print. */
function ms(shown: string): number {
  const m = /^(\d+)(ms|s|min)?$/.exec(shown);
  assert.ok(m, `unexpected statement_timeout ${shown}`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'min' ? 60_000 : 1);
}

const IN_FORCE = `SELECT current_setting('statement_timeout') AS t`;

/**
 * Asserts that `inside` (ms in force while a statement of `ctx`, made with `budget` ms, ran) lay
 * in the window of the default options (margin 50, slack max(25 %, 100 ms)): never below the
 * statement's remaining budget + margin (its remaining budget at the start was at least what
 * is left now), never above budget + margin + slack.
 */
function assertInWindow(inside: number, ctx: Context, budget: number, what: string): void {
  const floor = remaining(ctx) + 50;
  const ceiling = budget + 50 + Math.max(0.25 * budget, 100);
  assert.ok(inside >= floor && inside <= ceiling, `${what}: statement_timeout ${inside} ms outside [${floor.toFixed(1)}, ${ceiling}]`);
}

describe('@ctxkit/pg deadlines in the server', { skip: database === undefined ? 'no PostgreSQL (see the line above)' : false }, () => {
  const app = appName('timeout');
  let pool: pg.Pool;
  let db: Db;

  before(() => {
    pool = makePool(database!, app, { max: 1 }); // one connection: session state is observable
    db = wrapPool(pool);
  });
  after(async () => {
    await pool?.end();
    await database?.stop();
  });

  test('a single statement runs under the remaining budget, and the session setting is back for the next one', async () => {
    const scope = withTimeout(background(), 10_000);
    const inside = ms((await db.query(scope.ctx, IN_FORCE)).rows[0].t);
    assertInWindow(inside, scope.ctx, 10_000, 'the 10 s statement');
    scope.cancel();
    assert.equal((await db.query(background(), IN_FORCE)).rows[0].t, '0', 'a statement without a deadline runs without it');
    assert.equal((await db.query(background(), IN_FORCE)).rows[0].t, '0');
  });

  test('no deadline, no statement_timeout; serverTimeout: false turns it off', async () => {
    assert.equal((await db.query(background(), IN_FORCE)).rows[0].t, '0');
    const off = wrapPool(pool, { serverTimeout: false });
    const scope = withTimeout(background(), 10_000);
    assert.equal((await off.query(scope.ctx, IN_FORCE)).rows[0].t, '0');
    scope.cancel();
  });

  test('a lower statement_timeout configured for the session is never raised', async () => {
    const strict = makePool(database!, `${app}-strict`, { max: 1, statement_timeout: 2_000 });
    const sdb = wrapPool(strict);
    try {
      const loose = withTimeout(background(), 60_000);
      assert.equal((await sdb.query(loose.ctx, IN_FORCE)).rows[0].t, '2s');
      loose.cancel();
      const tight = withTimeout(background(), 500);
      const inside = ms((await sdb.query(tight.ctx, IN_FORCE)).rows[0].t);
      assertInWindow(inside, tight.ctx, 500, 'tight budget applied');
      tight.cancel();
      assert.equal((await sdb.query(background(), IN_FORCE)).rows[0].t, '2s', 'the configured value is back');
    } finally {
      await strict.end();
    }
  });

  test('inside a transaction: SET LOCAL from the transaction deadline, tightened per statement', async () => {
    const txScope = withTimeout(background(), 20_000);
    const [atBegin, tightened] = await db.transaction(txScope.ctx, async (tx) => {
      const a = ms((await tx.query(txScope.ctx, 'SHOW statement_timeout')).rows[0].statement_timeout);
      assertInWindow(a, txScope.ctx, 20_000, 'at BEGIN');
      const stmt = withTimeout(txScope.ctx, 1_000);
      const b = ms((await tx.query(stmt.ctx, IN_FORCE)).rows[0].t);
      assertInWindow(b, stmt.ctx, 1_000, 'for the 1 s statement');
      stmt.cancel();
      return [a, b];
    });
    txScope.cancel();
    assert.ok(tightened < atBegin, `tightened: ${tightened} < ${atBegin}`);
    assert.equal((await db.query(background(), IN_FORCE)).rows[0].t, '0', 'SET LOCAL ended with the transaction');
  });

  test("inside a transaction: a tight statement's value does not outlive it", async () => {
    const r = await db.transaction(background(), async (tx) => {
      const tight = withTimeout(background(), 1_000);
      const a = (await tx.query(tight.ctx, IN_FORCE)).rows[0].t as string;
      assertInWindow(ms(a), tight.ctx, 1_000, 'tight statement');
      tight.cancel();
      const b = (await tx.query(background(), `SELECT current_setting('statement_timeout') AS t, pg_sleep(0.1)`)).rows[0].t as string;
      const loose = withTimeout(background(), 30_000);
      const c = ms((await tx.query(loose.ctx, IN_FORCE)).rows[0].t);
      assertInWindow(c, loose.ctx, 30_000, 'a looser statement gets its own budget');
      loose.cancel();
      return [ms(a), b, c] as const;
    });
    assert.equal(r[1], '0', 'a statement without a deadline runs without the earlier tight value');
  });

  test("concurrent statements on one wrapped client never run under each other's budget", async () => {
    const client = new pg.Client({ connectionString: database!.connectionString, application_name: `${app}-concurrent` });
    client.on('error', () => {});
    await client.connect();
    try {
      const c = wrapClient(client);
      const tight = withTimeout(background(), 2_000);
      await c.query(tight.ctx, 'SELECT 1'); // the session's own value is known from here on
      const results = await Promise.all([
        c.query(tight.ctx, IN_FORCE),
        c.query(background(), IN_FORCE),
        c.query(tight.ctx, IN_FORCE),
        c.query(background(), IN_FORCE),
      ]);
      const seen = results.map((x) => x.rows[0].t as string);
      assertInWindow(ms(seen[0]!), tight.ctx, 2_000, 'first tight one');
      assertInWindow(ms(seen[2]!), tight.ctx, 2_000, 'second tight one');
      tight.cancel();
      assert.deepEqual([seen[1], seen[3]], ['0', '0'], "the others ran under the session's own value");
    } finally {
      await client.end();
    }
  });

  test('the server stops the statement even when this process never acts on the deadline', async () => {
    const clock = useManualClock(); // time stands still here: our own deadline timer never fires
    try {
      const scope = withTimeout(background(), 300);
      const err = (await db.query(scope.ctx, 'SELECT pg_sleep(5)').catch((e: unknown) => e)) as Error & { cause?: { code?: string } };
      assert.equal(scope.ctx.err, undefined, 'the context has not ended by its own clock');
      assert.ok(isDeadlineExceeded(err), `expected a deadline error, got ${String(err)}`);
      assert.equal(err.cause?.code, '57014', "caused by the server's statement_timeout");
      scope.cancel();
    } finally {
      clock.restore();
    }
    await waitNoneActive(pool, app);
    assert.equal((await db.query(background(), IN_FORCE)).rows[0].t, '0');
    assert.deepEqual(poolAtRest(pool), { checkedOut: 0, waiting: 0 });
  });

  test("wrapClient applies the budget the same way; the raw client then gets the session's own value", async () => {
    const client = new pg.Client({ connectionString: database!.connectionString, application_name: `${app}-client` });
    client.on('error', () => {});
    await client.connect();
    try {
      const c = wrapClient(client);
      const scope = withTimeout(background(), 5_000);
      const inside = ms((await c.query(scope.ctx, IN_FORCE)).rows[0].t);
      assertInWindow(inside, scope.ctx, 5_000, 'wrapClient');
      scope.cancel();
      assert.equal((await client.query(IN_FORCE)).rows[0].t, '0');
      assert.equal((await client.query(IN_FORCE)).rows[0].t, '0');
    } finally {
      await client.end();
    }
  });
});
