// This package sends a statement only to an idle node-postgres client, never queues one behind
// a statement still running: node-postgres deprecates that ("Calling client.query() when the
// client is already executing a query", gone in pg 9) and a pool must never hand on a busy
// client. node-postgres reports a server error before the ReadyForQuery that ends the statement,
// so every path that sends something right after an error (the next queued statement, ROLLBACK,
// COMMIT, the health check after a cancel, a pool release followed by a plain `pool.query` that
// meets our statement_timeout guard) is exercised here. Two checks, both across every scenario:
// no such DeprecationWarning is emitted, and a spy on each pooled client records every
// `client.query` call made while that client was busy (the warning itself fires only from the
// second queued statement on; the spy sees the first).
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import pg from 'pg';
import { background, withCancel, withTimeout } from '@ctxkit/core';
import { expectCanceled, leakCheckAfterAll } from '@ctxkit/testing';
import { wrapClient, wrapPool, type Db } from '@ctxkit/pg';
import { appName, makePool, openTestDatabase, poolAtRest, waitActive } from './helpers.js';

const database = await openTestDatabase('@ctxkit/pg idle-client tests');
leakCheckAfterAll(after);

const BUSY_WARNING = /already executing a query/;

/** DeprecationWarnings about a busy client, as emitted in this process. */
const warnings: string[] = [];
process.on('warning', (w) => {
  if (w.name === 'DeprecationWarning' && BUSY_WARNING.test(w.message)) warnings.push(w.message);
});

interface Internals {
  readyForQuery?: unknown;
  _activeQuery?: unknown;
  _queryQueue?: unknown[];
}

function busy(client: object): boolean {
  const c = client as Internals;
  return c.readyForQuery === false || (c._activeQuery ?? null) !== null || (c._queryQueue?.length ?? 0) > 0;
}

const text = (arg: unknown): string => (typeof arg === 'string' ? arg : String((arg as { text?: unknown } | null)?.text));

/** Statements handed to a busy client (the spy's findings). */
const busyCalls: string[] = [];

/** Wraps `client.query` with the busy-client spy (made a property of the client itself). */
function spy(client: pg.ClientBase): void {
  const query = client.query as (...a: unknown[]) => unknown;
  (client as { query: unknown }).query = function (this: pg.ClientBase, ...args: unknown[]) {
    if (busy(this)) busyCalls.push(text(args[0]));
    return query.apply(this, args);
  };
}

describe('@ctxkit/pg idle client', { skip: database === undefined ? 'no PostgreSQL (see the line above)' : false }, () => {
  const app = appName('idle');
  let pool: pg.Pool;
  let admin: pg.Pool;
  let db: Db;

  before(() => {
    pool = makePool(database!, app, { max: 1 }); // one connection: whatever it is handed next meets our state
    pool.on('connect', spy);
    admin = makePool(database!, `${app}-admin`, { max: 1 });
    db = wrapPool(pool);
  });
  afterEach(async () => {
    await tick(); // warnings are emitted on the next tick
    assert.deepEqual(busyCalls.splice(0), [], 'statements handed to a busy client');
    assert.deepEqual(warnings.splice(0), [], 'node-postgres DeprecationWarning about a busy client');
    assert.deepEqual(poolAtRest(pool), { checkedOut: 0, waiting: 0 });
  });
  after(async () => {
    await pool?.end();
    await admin?.end();
    await database?.stop();
  });

  /** A statement under a fresh deadline, so the connection keeps a statement_timeout of ours. */
  async function withDeadline<T>(fn: (ctx: ReturnType<typeof withTimeout>['ctx']) => Promise<T>): Promise<T> {
    const s = withTimeout(background(), 30_000);
    try {
      return await fn(s.ctx);
    } finally {
      s.cancel();
    }
  }

  test('a server error, then a plain pool.query waiting for the connection (the statement_timeout guard)', async () => {
    for (let i = 0; i < 5; i++) {
      const failing = withDeadline((ctx) => db.query(ctx, 'SELECT 1/0'));
      const plain = pool.query('SELECT 2 AS n'); // waits for the one connection
      await assert.rejects(failing, { code: '22012' });
      assert.equal((await plain).rows[0].n, 2);
    }
    assert.equal((await pool.query('SHOW statement_timeout')).rows[0].statement_timeout, '0');
  });

  test('statements pipelined by hand on a client checked out after a deadline statement', async () => {
    await withDeadline((ctx) => db.query(ctx, 'SELECT 1'));
    const client = await pool.connect();
    try {
      // Two at once on an idle client: node-postgres runs the first and queues the second, which
      // it allows (only queueing behind a queued one is deprecated) — unless something of ours
      // were queued ahead of them, such as the SET back to the session's own statement_timeout.
      const first = client.query('SELECT 1 AS n');
      const second = client.query('SELECT 2 AS n');
      assert.equal((await first).rows[0].n, 1);
      assert.equal((await second).rows[0].n, 2);
      assert.equal((await client.query('SHOW statement_timeout')).rows[0].statement_timeout, '0');
    } finally {
      client.release();
    }
    busyCalls.length = 0; // the second was pipelined by this test itself, on purpose
  });

  test('a failed statement, then the next one queued on the same transaction, then ROLLBACK', async () => {
    await assert.rejects(
      db.transaction(background(), async (tx) => {
        const failing = tx.query(background(), 'SELECT 1/0');
        const next = tx.query(background(), 'SELECT 1'); // queued in our lane behind the failing one
        await assert.rejects(failing, { code: '22012' });
        await assert.rejects(next, { code: '25P02' }); // in failed transaction
        throw new Error('undo');
      }),
      /undo/,
    );
  });

  test('a failed statement the callback swallows, then COMMIT', async () => {
    await assert.rejects(
      withDeadline((ctx) =>
        db.transaction(ctx, async (tx) => {
          await tx.query(ctx, 'SELECT 1/0').catch(() => {});
        }),
      ),
      { name: 'TransactionRolledBackError' },
    );
  });

  test('a failed statement inside a savepoint, then ROLLBACK TO SAVEPOINT, then the transaction commits', async () => {
    const v = await db.transaction(background(), async (tx) => {
      await assert.rejects(
        tx.savepoint(background(), (sp) => sp.query(background(), 'SELECT 1/0')),
        { code: '22012' },
      );
      return (await tx.query(background(), 'SELECT 3 AS n')).rows[0].n as number;
    });
    assert.equal(v, 3);
  });

  test('a cancelled statement, then the health check, then the next statement', async () => {
    for (let i = 0; i < 3; i++) {
      const scope = withCancel(background());
      const p = db.query(scope.ctx, `SELECT pg_sleep(30) /* idle-cancel-${i} */`);
      const next = withDeadline((ctx) => db.query(ctx, 'SELECT 4 AS n')); // waits for the connection
      await waitActive(admin, app, `idle-cancel-${i}`);
      scope.cancel();
      await expectCanceled(p, scope.ctx);
      assert.equal((await next).rows[0].n, 4);
    }
  });

  test('wrapClient: a server error, then the next wrapped statement, then the raw client', async () => {
    const client = new pg.Client({ connectionString: database!.connectionString, application_name: `${app}-client` });
    client.on('error', () => {});
    await client.connect();
    spy(client);
    try {
      const c = wrapClient(client);
      const failing = withDeadline((ctx) => c.query(ctx, 'SELECT 1/0'));
      const next = withDeadline((ctx) => c.query(ctx, 'SELECT 5 AS n'));
      await assert.rejects(failing, { code: '22012' });
      assert.equal((await next).rows[0].n, 5);
      assert.equal((await client.query('SHOW statement_timeout')).rows[0].statement_timeout, '0');
    } finally {
      await client.end();
    }
  });

  test('random mix: errors, cancels, deadlines and plain pool.query on one connection', async () => {
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      const kind = i % 5;
      if (kind === 0) work.push(pool.query('SELECT 1'));
      else if (kind === 1) work.push(withDeadline((ctx) => db.query(ctx, 'SELECT 1/0')).catch(() => {}));
      else if (kind === 2) {
        const s = withCancel(background());
        work.push(db.query(s.ctx, 'SELECT pg_sleep(0.05)').catch(() => {}));
        setTimeout(() => s.cancel(), (i * 7) % 40);
      } else if (kind === 3) {
        work.push(withDeadline((ctx) => db.transaction(ctx, (tx) => tx.query(ctx, 'SELECT 1/0'))).catch(() => {}));
      } else {
        work.push(withDeadline((ctx) => db.query(ctx, 'SELECT 1')));
      }
    }
    await Promise.all(work);
  });
});
