// Transactions and savepoints under a context against a real PostgreSQL: what is persisted is
// checked in the table; rollbacks are checked in pg_stat_activity (no session left idle in
// transaction); COMMIT is never interrupted; a dead connection during COMMIT is reported as such.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { background, withCancel, withTimeout, type CancelScope } from '@ctxkit/core';
import { expectCanceled, leakCheckAfterAll } from '@ctxkit/testing';
import { CommitOutcomeUnknownError, TransactionRolledBackError, wrapPool, type Db } from '@ctxkit/pg';
import { appName, backends, makePool, openTestDatabase, poolAtRest, waitActive, waitFor } from './helpers.js';

const database = await openTestDatabase('@ctxkit/pg transaction tests');
// Some tests keep the far side busy past the cancel on purpose (a COMMIT that must finish).
leakCheckAfterAll(after, { graceMs: 2_000 });

describe('@ctxkit/pg transactions and savepoints', { skip: database === undefined ? 'no PostgreSQL (see the line above)' : false }, () => {
  const app = appName('tx');
  const t = `ctxkit_pg_tx_${process.pid}`;
  const slow = `ctxkit_pg_slowcommit_${process.pid}`;
  let pool: pg.Pool;
  let admin: pg.Pool;
  let db: Db;

  const ids = async (): Promise<number[]> => (await admin.query<{ id: number }>(`SELECT id FROM ${t} ORDER BY id`)).rows.map((r) => r.id);

  /** Every session of this file is out of any transaction (and none is running a statement). */
  const sessionsAtRest = (): Promise<true> =>
    waitFor('no session active or idle in transaction', async () =>
      (await backends(admin, app)).every((b) => b.state === 'idle') ? true : undefined,
    );

  before(async () => {
    pool = makePool(database!, app, { max: 3 });
    admin = makePool(database!, `${app}-admin`, { max: 2 });
    db = wrapPool(pool);
    await admin.query(`DROP TABLE IF EXISTS ${t}, ${slow}`);
    await admin.query(`CREATE TABLE ${t} (id int PRIMARY KEY)`);
    // A table whose rows make COMMIT slow: a deferred trigger sleeps for `delay` seconds.
    await admin.query(`CREATE TABLE ${slow} (id int, delay float8)`);
    await admin.query(`CREATE OR REPLACE FUNCTION ${slow}_fn() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN PERFORM pg_sleep(NEW.delay); RETURN NULL; END $$`);
    await admin.query(`CREATE CONSTRAINT TRIGGER ${slow}_trg AFTER INSERT ON ${slow}
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${slow}_fn()`);
  });
  beforeEach(async () => {
    await admin.query(`TRUNCATE ${t}, ${slow}`);
  });
  after(async () => {
    await admin?.query(`DROP TABLE IF EXISTS ${t}, ${slow}`);
    await admin?.query(`DROP FUNCTION IF EXISTS ${slow}_fn()`);
    await pool?.end();
    await admin?.end();
    await database?.stop();
  });

  test('commits when the callback resolves, and returns its value', async () => {
    const v = await db.transaction(background(), async (tx) => {
      await tx.query(background(), `INSERT INTO ${t} VALUES (1), (2)`);
      return (await tx.query(background(), `SELECT count(*)::int AS n FROM ${t}`)).rows[0].n as number;
    });
    assert.equal(v, 2);
    assert.deepEqual(await ids(), [1, 2]);
    assert.deepEqual(poolAtRest(pool), { checkedOut: 0, waiting: 0 });
  });

  test('rolls back when the callback throws, and rethrows that very error', async () => {
    const boom = new Error('boom');
    const err = await db
      .transaction(background(), async (tx) => {
        await tx.query(background(), `INSERT INTO ${t} VALUES (1)`);
        throw boom;
      })
      .catch((e: unknown) => e);
    assert.equal(err, boom);
    assert.deepEqual(await ids(), []);
    await sessionsAtRest();
  });

  test('a server error inside passes through unchanged and the transaction rolls back', async () => {
    const err = (await db
      .transaction(background(), async (tx) => {
        await tx.query(background(), `INSERT INTO ${t} VALUES (1)`);
        await tx.query(background(), `INSERT INTO ${t} VALUES (1)`);
      })
      .catch((e: unknown) => e)) as { code?: string };
    assert.ok(err instanceof pg.DatabaseError);
    assert.equal(err.code, '23505');
    assert.deepEqual(await ids(), []);
    await sessionsAtRest();
  });

  test('cancel mid-transaction: the statement stops, nothing is persisted, the session is idle', async () => {
    const scope = withCancel(background());
    const p = db.transaction(scope.ctx, async (tx) => {
      await tx.query(scope.ctx, `INSERT INTO ${t} VALUES (1), (2)`);
      await tx.query(scope.ctx, 'SELECT pg_sleep(30) /* tx-cancel */');
      await tx.query(scope.ctx, `INSERT INTO ${t} VALUES (3)`);
    });
    const running = await waitActive(admin, app, 'tx-cancel');
    scope.cancel();
    await expectCanceled(p, scope.ctx);
    assert.deepEqual(await ids(), []);
    await sessionsAtRest();
    // The connection passed its health check and was rolled back and kept, not destroyed.
    assert.ok(
      (await backends(admin, app)).some((b) => b.pid === running.pid && b.state === 'idle'),
      'same backend, idle',
    );
    assert.deepEqual(poolAtRest(pool), { checkedOut: 0, waiting: 0 });
  });

  test('the transaction context ending while the callback waits elsewhere rolls back at once', async () => {
    const scope = withCancel(background());
    let resume!: () => void;
    const elsewhere = new Promise<void>((r) => {
      resume = r;
    });
    let inserted!: () => void;
    const insertDone = new Promise<void>((r) => {
      inserted = r;
    });
    let later: unknown;
    const p = db.transaction(scope.ctx, async (tx) => {
      await tx.query(scope.ctx, `INSERT INTO ${t} VALUES (1)`);
      inserted();
      await elsewhere; // not a database call: e.g. waiting for another service
      later = await tx.query(background(), `INSERT INTO ${t} VALUES (2)`).catch((e: unknown) => e);
    });
    await insertDone;
    const inTx = await waitFor('the session to be idle in transaction', async () =>
      (await backends(admin, app)).find((b) => b.state === 'idle in transaction'),
    );
    scope.cancel();
    // Rolled back before the callback even resumes.
    await waitFor('the session to leave its transaction', async () => {
      const b = (await backends(admin, app)).find((x) => x.pid === inTx.pid);
      return b === undefined || b.state === 'idle' ? true : undefined;
    });
    resume();
    await expectCanceled(p, scope.ctx);
    assert.equal(later, scope.ctx.err, 'the handle refuses work once its transaction ended');
    assert.deepEqual(await ids(), []);
  });

  test('a cancelled savepoint is undone; the outer transaction continues and commits', async () => {
    let spScope!: CancelScope;
    let spErr: unknown;
    await db.transaction(background(), async (tx) => {
      await tx.query(background(), `INSERT INTO ${t} VALUES (1)`);
      spScope = withCancel(background());
      const sp = tx.savepoint(spScope.ctx, async (s) => {
        await s.query(spScope.ctx, `INSERT INTO ${t} VALUES (2)`);
        await s.query(spScope.ctx, 'SELECT pg_sleep(30) /* sp-cancel */');
      });
      const running = await waitActive(admin, app, 'sp-cancel');
      spScope.cancel();
      spErr = await sp.catch((e: unknown) => e);
      const same = await tx.query(background(), 'SELECT pg_backend_pid() AS pid');
      assert.equal(same.rows[0].pid, running.pid, 'the transaction continues on the same connection');
      await tx.query(background(), `INSERT INTO ${t} VALUES (3)`);
    });
    assert.equal(spErr, spScope.ctx.err);
    assert.deepEqual(await ids(), [1, 3]);
    await sessionsAtRest();
  });

  test('a savepoint whose callback throws is undone; nested savepoints keep what succeeded', async () => {
    const oops = new Error('oops');
    await db.transaction(background(), async (tx) => {
      await tx.query(background(), `INSERT INTO ${t} VALUES (1)`);
      const e = await tx
        .savepoint(background(), async (sp) => {
          await sp.query(background(), `INSERT INTO ${t} VALUES (2)`);
          throw oops;
        })
        .catch((x: unknown) => x);
      assert.equal(e, oops);
      await tx.savepoint(background(), async (sp) => {
        await sp.query(background(), `INSERT INTO ${t} VALUES (3)`);
        await sp
          .savepoint(background(), async (inner) => {
            await inner.query(background(), `INSERT INTO ${t} VALUES (4)`);
            await inner.query(background(), `INSERT INTO ${t} VALUES (4)`); // 23505: undoes 4 only
          })
          .catch((x: { code?: string }) => assert.equal(x.code, '23505'));
      });
    });
    assert.deepEqual(await ids(), [1, 3]);
  });

  test('handles refuse misuse with a clear error', async () => {
    let kept: { query: (ctx: ReturnType<typeof background>, sql: string) => Promise<unknown> } | undefined;
    await db.transaction(background(), async (tx) => {
      kept = tx;
      await tx.savepoint(background(), async () => {
        await assert.rejects(tx.query(background(), 'SELECT 1'), /a savepoint is open on this transaction/);
      });
    });
    await assert.rejects(kept!.query(background(), 'SELECT 1'), /transaction handle is finished/);
    await assert.rejects(db.transaction(background(), 5 as never), /db\.transaction: fn must be a function, got number/);
  });

  test('isolation level and read-only mode reach the server', async () => {
    const r = await db.transaction(
      background(),
      async (tx) => {
        const iso = await tx.query(background(), 'SHOW transaction_isolation');
        const ro = await tx.query(background(), 'SHOW transaction_read_only');
        return [iso.rows[0].transaction_isolation, ro.rows[0].transaction_read_only];
      },
      { isolationLevel: 'serializable', readOnly: true },
    );
    assert.deepEqual(r, ['serializable', 'on']);
    const err = (await db
      .transaction(background(), (tx) => tx.query(background(), `INSERT INTO ${t} VALUES (1)`), { readOnly: true })
      .catch((e: unknown) => e)) as { code?: string };
    assert.equal(err.code, '25006'); // read_only_sql_transaction
    assert.deepEqual(await ids(), []);
  });

  test('a callback that swallows a failed statement gets TransactionRolledBackError, not a false commit', async () => {
    const err = await db
      .transaction(background(), async (tx) => {
        await tx.query(background(), `INSERT INTO ${t} VALUES (1)`);
        await tx.query(background(), 'SELECT 1/0').catch(() => {});
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof TransactionRolledBackError);
    assert.deepEqual(await ids(), []);
  });

  test('COMMIT, once sent, is not interrupted by the context ending', async () => {
    const scope = withCancel(background());
    const p = db.transaction(scope.ctx, async (tx) => {
      await tx.query(scope.ctx, `INSERT INTO ${slow} VALUES (1, 0.5)`);
      return 'committed';
    });
    await waitActive(admin, app, 'COMMIT');
    scope.cancel();
    assert.equal(await p, 'committed');
    const r = await admin.query(`SELECT id FROM ${slow}`);
    assert.deepEqual(r.rows, [{ id: 1 }]);
  });

  test('a deadline that passes during COMMIT interrupts neither this process nor the server', async () => {
    const scope = withTimeout(background(), 300); // statement_timeout ≈ 350 ms for the transaction
    const p = db.transaction(scope.ctx, async (tx) => {
      await tx.query(scope.ctx, `INSERT INTO ${slow} VALUES (3, 0.6)`); // COMMIT takes 600 ms
      return 'committed';
    });
    assert.equal(await p, 'committed');
    assert.ok(scope.ctx.err !== undefined, 'the deadline passed during COMMIT');
    scope.cancel();
    assert.deepEqual((await admin.query(`SELECT id FROM ${slow}`)).rows, [{ id: 3 }]);
    await sessionsAtRest();
  });

  test('with a deadline, a transaction whose statement failed still reports TransactionRolledBackError', async () => {
    const scope = withTimeout(background(), 10_000);
    const err = await db
      .transaction(scope.ctx, async (tx) => {
        await tx.query(scope.ctx, `INSERT INTO ${t} VALUES (1)`);
        await tx.query(scope.ctx, 'SELECT 1/0').catch(() => {});
      })
      .catch((e: unknown) => e);
    scope.cancel();
    assert.ok(err instanceof TransactionRolledBackError, String(err));
    assert.deepEqual(await ids(), []);
    await sessionsAtRest();
  });

  test('the connection dying during COMMIT gives CommitOutcomeUnknownError; the pool recovers', async () => {
    const p = db
      .transaction(background(), async (tx) => {
        await tx.query(background(), `INSERT INTO ${slow} VALUES (2, 30)`);
      })
      .catch((e: unknown) => e);
    const committing = await waitActive(admin, app, 'COMMIT');
    await admin.query('SELECT pg_terminate_backend($1)', [committing.pid]);
    const err = await p;
    assert.ok(err instanceof CommitOutcomeUnknownError, String(err));
    assert.equal((err.cause as { code?: string }).code, '57P01');
    await waitFor('the dead client to leave the pool', async () => (poolAtRest(pool).checkedOut === 0 ? true : undefined));
    assert.equal((await db.query(background(), 'SELECT 1 AS one')).rows[0].one, 1);
  });

  test('a backend killed mid-transaction rejects with its error and nothing is persisted', async () => {
    const p = db
      .transaction(background(), async (tx) => {
        await tx.query(background(), `INSERT INTO ${t} VALUES (1)`);
        await tx.query(background(), 'SELECT pg_sleep(30) /* tx-kill */');
      })
      .catch((e: unknown) => e);
    const running = await waitActive(admin, app, 'tx-kill');
    await admin.query('SELECT pg_terminate_backend($1)', [running.pid]);
    const err = (await p) as { code?: string };
    assert.equal(err.code, '57P01');
    assert.deepEqual(await ids(), []);
    await waitFor('the dead client to leave the pool', async () => (poolAtRest(pool).checkedOut === 0 ? true : undefined));
  });
});
