// Statements under a context against a real PostgreSQL: fast-fail, server-side cancel checked
// in pg_stat_activity, the pool wait queue, concurrency with random cancels, a killed backend,
// a cancel request that reaches the backend before its statement does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import type net from 'node:net';
import pg from 'pg';
import { background, isContextError, subscribe, withCancel, withTimeout, type CancelScope } from '@ctxkit/core';
import { exploreCancellation, expectCanceled, leakCheckAfterAll } from '@ctxkit/testing';
import { wrapClient, wrapPool, type Db } from '@ctxkit/pg';
import { appName, backends, makePool, openTestDatabase, poolAtRest, waitActive, waitFor, waitNoneActive } from './helpers.js';

const database = await openTestDatabase('@ctxkit/pg cancel tests');
// One test makes the server ignore the cancel on purpose (the statement runs to cleanupTimeoutMs).
leakCheckAfterAll(after, { graceMs: 2_000 });

describe('@ctxkit/pg statements under a context', { skip: database === undefined ? 'no PostgreSQL (see the line above)' : false }, () => {
  const app = appName('cancel');
  let pool: pg.Pool;
  let admin: pg.Pool;
  let db: Db;

  before(() => {
    pool = makePool(database!, app, { max: 4 });
    admin = makePool(database!, `${app}-admin`, { max: 2 });
    db = wrapPool(pool);
  });
  after(async () => {
    await pool?.end();
    await admin?.end();
    await database?.stop();
  });

  test('returns pg results unchanged', async () => {
    const r = await db.query(background(), 'SELECT $1::int + 1 AS n, $2::text AS s', [41, 'x']);
    assert.deepEqual(r.rows, [{ n: 42, s: 'x' }]);
    assert.equal(r.command, 'SELECT');
    const arr = await db.query(background(), { text: 'SELECT 1 AS a, 2 AS b', rowMode: 'array' });
    assert.deepEqual(arr.rows, [[1, 2]]);
  });

  test("does not write into the caller's query config", async () => {
    const config = { text: 'SELECT $1::int AS v' };
    await db.query(background(), config, [7]);
    assert.deepEqual(Object.keys(config), ['text']);
  });

  test('an ended context rejects with ctx.err without checking out a connection', async () => {
    const scope = withCancel(background());
    scope.cancel();
    let acquired = 0;
    const onAcquire = (): void => {
      acquired++;
    };
    pool.on('acquire', onAcquire);
    try {
      const err = await db.query(scope.ctx, 'SELECT 1').catch((e: unknown) => e);
      assert.equal(err, scope.ctx.err);
      const err2 = await db.transaction(scope.ctx, async () => 1).catch((e: unknown) => e);
      assert.equal(err2, scope.ctx.err);
      assert.equal(acquired, 0);
    } finally {
      pool.off('acquire', onAcquire);
    }
  });

  test('server errors pass through with their SQLSTATE', async () => {
    const err = (await db.query(background(), 'SELECT 1/0').catch((e: unknown) => e)) as { code?: string };
    assert.ok(err instanceof pg.DatabaseError);
    assert.equal(err.code, '22012');
    const err2 = (await db.query(background(), 'SELECT * FROM no_such_table_ctxkit').catch((e: unknown) => e)) as { code?: string };
    assert.equal(err2.code, '42P01');
    assert.deepEqual(poolAtRest(pool), { checkedOut: 0, waiting: 0 });
  });

  test('bad input gets a TypeError naming what was wrong', async () => {
    await assert.rejects(db.query(background(), 42 as never), /db\.query: query must be SQL text or a query config object, got number/);
    await assert.rejects(db.query(background(), 'SELECT $1', 'x' as never), /db\.query: values must be an array, got string/);
    await assert.rejects(db.query(background(), { text: 5 } as never), /needs a string "text"/);
    await assert.rejects(db.query(background(), { text: 'x', submit() {} } as never), /submittable queries/);
    assert.throws(() => wrapPool({} as never), /wrapPool: pool must be a pg\.Pool/);
    assert.throws(() => wrapPool(pool, { cleanupTimeoutMs: 0 }), /cleanupTimeoutMs must be a finite number > 0, got 0/);
    assert.throws(() => wrapPool(pool, { serverTimeoutMarginMs: -1 }), /serverTimeoutMarginMs/);
    assert.throws(
      () => wrapPool(pool, { serverTimeoutSlackRatio: -0.5 }),
      /options\.serverTimeoutSlackRatio must be a finite number ≥ 0, got -0\.5/,
    );
    assert.throws(
      () => wrapClient({ query() {} } as never, { serverTimeoutSlackMs: Number.NaN }),
      /wrapClient: options\.serverTimeoutSlackMs must be a finite number ≥ 0, got NaN/,
    );
    await assert.rejects(
      db.transaction(background(), async () => 1, { isolationLevel: 'chaos' as never }),
      /isolationLevel must be one of/,
    );
    assert.deepEqual(poolAtRest(pool), { checkedOut: 0, waiting: 0 });
  });

  test('cancelling pg_sleep(30) stops it in the server and rejects with ctx.err', async () => {
    const scope = withCancel(background());
    const p = db.query(scope.ctx, 'SELECT pg_sleep(30) /* cancel-me */');
    const running = await waitActive(admin, app, 'cancel-me');
    scope.cancel();
    const err = await expectCanceled(p, scope.ctx);
    assert.equal(err, scope.ctx.err);
    // The far side: that backend is idle again (not killed, not still sleeping).
    const after = await waitFor('the cancelled backend to be idle', async () => {
      const b = (await backends(admin, app)).find((x) => x.pid === running.pid);
      return b?.state === 'idle' ? b : undefined;
    });
    assert.equal(after.state, 'idle');
    assert.deepEqual(poolAtRest(pool), { checkedOut: 0, waiting: 0 });
    // The connection went back to the pool in a usable state.
    const r = await db.query(background(), 'SELECT pg_backend_pid() AS pid');
    assert.equal(typeof r.rows[0].pid, 'number');
  });

  test('a deadline during a statement rejects with the DeadlineExceededError and stops the backend', async () => {
    const scope = withTimeout(background(), 150);
    const err = await db.query(scope.ctx, 'SELECT pg_sleep(30) /* deadline-me */').catch((e: unknown) => e);
    assert.equal(err, scope.ctx.err);
    assert.equal((err as Error).name, 'TimeoutError');
    scope.cancel();
    await waitNoneActive(admin, app);
  });

  test('200 concurrent statements with random cancels: every survivor gets its own result', async () => {
    const N = 200;
    const scopes: CancelScope[] = [];
    const cancelled = new Array<boolean>(N).fill(false);
    const settled = new Array<boolean>(N).fill(false);
    const runs = Array.from({ length: N }, (_, i) => {
      const scope = withCancel(background());
      scopes.push(scope);
      // Some statements are quick, some sleep long enough to be cancelled mid-flight.
      const sleepMs = i % 3 === 0 ? 200 : i % 3 === 1 ? 5 : 0;
      const p = db.query<{ v: number }>(scope.ctx, 'SELECT $1::int AS v, pg_sleep($2::float8 / 1000)', [i, sleepMs]);
      p.then(
        () => {
          settled[i] = true;
        },
        () => {
          settled[i] = true;
        },
      );
      return p;
    });
    // Random cancels while statements are queued for a connection, running, or finishing.
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const cancels = Array.from({ length: N }, (_, i) => i).filter(() => rand() < 0.4);
    await Promise.all(
      cancels.map(
        (i) =>
          new Promise<void>((resolve) => {
            setTimeout(
              () => {
                if (!settled[i]) {
                  cancelled[i] = true;
                  scopes[i]!.cancel();
                }
                resolve();
              },
              Math.floor(rand() * 400),
            );
          }),
      ),
    );
    const outcomes = await Promise.allSettled(runs);
    let ok = 0;
    let canceled = 0;
    outcomes.forEach((o, i) => {
      if (cancelled[i]) {
        assert.equal(o.status, 'rejected', `statement ${i} was cancelled before it settled but resolved`);
        assert.equal((o as PromiseRejectedResult).reason, scopes[i]!.ctx.err, `statement ${i} must reject with its own ctx.err`);
        canceled++;
      } else {
        assert.equal(
          o.status,
          'fulfilled',
          `statement ${i} was never cancelled but failed: ${String((o as PromiseRejectedResult).reason)}`,
        );
        assert.deepEqual(
          (o as PromiseFulfilledResult<pg.QueryResult<{ v: number }>>).value.rows.map((r) => r.v),
          [i],
        );
        ok++;
      }
    });
    for (const s of scopes) s.cancel();
    assert.ok(canceled > 10 && ok > 10, `both outcomes exercised (${ok} ok, ${canceled} cancelled)`);
    assert.deepEqual(poolAtRest(pool), { checkedOut: 0, waiting: 0 });
    await waitNoneActive(admin, app);
  });

  test('waiting for a connection: cancelled callers leave the queue and no checkout leaks', async () => {
    const small = makePool(database!, `${app}-small`, { max: 2 });
    const sdb = wrapPool(small);
    try {
      const holders = [withCancel(background()), withCancel(background())];
      const held = holders.map((h, i) => sdb.query(h.ctx, `SELECT pg_sleep(30) /* holder-${i} */`));
      await waitActive(admin, `${app}-small`, 'holder-0');
      await waitActive(admin, `${app}-small`, 'holder-1');
      const waiters = Array.from({ length: 5 }, () => withCancel(background()));
      const waiting = waiters.map((w) => sdb.query(w.ctx, 'SELECT 1'));
      await waitFor('5 callers waiting', async () => (small.waitingCount === 5 ? true : undefined));
      for (const w of waiters) w.cancel();
      await Promise.all(waiting.map((p, i) => expectCanceled(p, waiters[i]!.ctx)));
      assert.equal(small.waitingCount, 0, 'cancelled callers left the pool queue');
      for (const h of holders) h.cancel();
      await Promise.all(held.map((p, i) => expectCanceled(p, holders[i]!.ctx)));
      assert.deepEqual(poolAtRest(small), { checkedOut: 0, waiting: 0 });
      const r = await sdb.query(background(), 'SELECT 2 AS two');
      assert.equal(r.rows[0].two, 2);
      await waitNoneActive(admin, `${app}-small`);
    } finally {
      await small.end();
    }
  });

  test('a connection being opened for a caller that left goes back to the pool unused', async () => {
    const fresh = makePool(database!, `${app}-fresh`, { max: 1 });
    const fdb = wrapPool(fresh);
    try {
      const scope = withCancel(background());
      const p = fdb.query(scope.ctx, 'SELECT 1');
      scope.cancel(); // before the new connection is ready
      await expectCanceled(p, scope.ctx);
      await waitFor('the connection to be back in the pool', async () => (fresh.idleCount === 1 ? true : undefined));
      assert.deepEqual(poolAtRest(fresh), { checkedOut: 0, waiting: 0 });
    } finally {
      await fresh.end();
    }
  });

  test('a backend killed mid-statement gives its server error, and the pool recovers', async () => {
    const p = db.query(background(), 'SELECT pg_sleep(30) /* kill-me */').catch((e: unknown) => e);
    const running = await waitActive(admin, app, 'kill-me');
    await admin.query('SELECT pg_terminate_backend($1)', [running.pid]);
    const err = (await p) as { code?: string; message?: string };
    assert.equal(err.code, '57P01', `expected admin_shutdown, got ${String(err.message)}`);
    await waitFor('the dead client to leave the pool', async () => (poolAtRest(pool).checkedOut === 0 ? true : undefined));
    const r = await db.query(background(), 'SELECT 3 AS three');
    assert.equal(r.rows[0].three, 3);
    assert.ok(!(await backends(admin, app)).some((b) => b.pid === running.pid), 'the killed backend is gone');
  });

  test('a cancel the server ignores: after cleanupTimeoutMs the connection is destroyed, never reused', async () => {
    const lossy = makePool(database!, `${app}-lossy`, { max: 1 });
    // A wrong secret key: the server drops the cancel request, as a proxy that eats cancels would.
    lossy.on('connect', (c) => {
      (c as unknown as { secretKey: number }).secretKey ^= 0x5a5a5a5a;
    });
    const ldb = wrapPool(lossy, { cleanupTimeoutMs: 200 });
    try {
      await ldb.query(background(), 'SELECT 1'); // connect
      const scope = withCancel(background());
      const p = ldb.query(scope.ctx, 'SELECT pg_sleep(2) /* lossy */');
      await waitActive(admin, `${app}-lossy`, 'lossy');
      scope.cancel();
      await expectCanceled(p, scope.ctx);
      await waitFor('the connection to be destroyed', async () => (lossy.totalCount === 0 ? true : undefined));
      assert.equal((await ldb.query(background(), 'SELECT 8 AS eight')).rows[0].eight, 8, 'a new connection serves the next caller');
    } finally {
      await lossy.end();
    }
  });

  test("pg's own query_timeout (a local give-up) never returns the still-busy connection to the pool", async () => {
    const timed = makePool(database!, `${app}-qt`, { max: 1, query_timeout: 100 });
    const tdb = wrapPool(timed);
    try {
      const err = (await tdb.query(background(), 'SELECT pg_sleep(1) /* qt */').catch((e: unknown) => e)) as Error;
      assert.match(err.message, /Query read timeout/);
      await waitFor('the connection to be destroyed', async () => (timed.totalCount === 0 ? true : undefined));
      assert.equal((await tdb.query(background(), 'SELECT 9 AS nine')).rows[0].nine, 9);
    } finally {
      await timed.end();
    }
  });

  test('a connection left inside a transaction by db.query is destroyed, not pooled', async () => {
    const leaky = makePool(database!, `${app}-leaky`, { max: 1 });
    const ldb = wrapPool(leaky);
    try {
      await ldb.query(background(), 'BEGIN');
      await waitFor('the connection to be destroyed', async () => (leaky.totalCount === 0 ? true : undefined));
      const r = await ldb.query(background(), `SELECT now() = statement_timestamp() AS fresh`);
      assert.equal(r.rows[0].fresh, true, 'the next caller is not inside the leaked transaction');
    } finally {
      await leaky.end();
    }
  });

  test('wrapClient: a cancel stops only the statement it was meant for', async () => {
    const client = new pg.Client({ connectionString: database!.connectionString, application_name: `${app}-client` });
    client.on('error', () => {});
    await client.connect();
    const c = wrapClient(client);
    try {
      const scope = withCancel(background());
      const slow = c.query(scope.ctx, 'SELECT pg_sleep(30) /* client-cancel */');
      const next = c.query(background(), 'SELECT 5 AS five'); // queued behind it
      await waitActive(admin, `${app}-client`, 'client-cancel');
      scope.cancel();
      await expectCanceled(slow, scope.ctx);
      assert.equal((await next).rows[0].five, 5);
      // Statements queued on a client leave the queue when their context ends, unsent.
      const blocker = withCancel(background());
      const first = c.query(blocker.ctx, 'SELECT pg_sleep(30) /* client-block */');
      const queued = withCancel(background());
      const second = c.query(queued.ctx, 'SELECT 6');
      // The blocker runs in the server before it is cancelled, so this part is about the queue: a
      // cancel request that arrives while the backend is still idle is dropped by PostgreSQL (and
      // re-sent by the lane, tested on its own below).
      await waitActive(admin, `${app}-client`, 'client-block');
      queued.cancel();
      await expectCanceled(second, queued.ctx);
      blocker.cancel();
      await expectCanceled(first, blocker.ctx);
      assert.equal((await c.query(background(), 'SELECT 7 AS seven')).rows[0].seven, 7);
    } finally {
      await client.end();
    }
  });

  test('a cancel that reaches the backend before its statement is sent again: the statement stops, the connection is kept', async (t) => {
    const name = `${app}-early`;
    const cleanupTimeoutMs = 10_000; // the lane used to wait all of it, then close the connection
    const client = new pg.Client({ connectionString: database!.connectionString, application_name: name });
    client.on('error', () => {});
    await client.connect();
    const c = wrapClient(client, { cleanupTimeoutMs });
    // Every CancelRequest opens its own connection with net.connect (node-postgres itself uses
    // `new net.Socket()`, which this channel does not report).
    const requests: net.Socket[] = [];
    let firstOver!: () => void;
    const firstRequestOver = new Promise<void>((resolve) => {
      firstOver = resolve;
    });
    const onSocket = (m: unknown): void => {
      const { socket } = m as { socket: net.Socket };
      if (requests.push(socket) === 1) socket.once('close', () => firstOver());
    };
    diagnostics_channel.subscribe('net.client.socket', onSocket);
    try {
      const pid = (await c.query(background(), 'SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      // Hold the statement in the client's socket: the backend stays idle, as when the query
      // message is still on its way while the context ends.
      const stream = (client as unknown as { connection: { stream: net.Socket } }).connection.stream;
      stream.cork();
      const scope = withCancel(background());
      const p = c.query(scope.ctx, 'SELECT pg_sleep(30) /* early-cancel */');
      let outcome: { err: unknown; allRequestsOver: boolean } | undefined;
      void p.then(
        () => {
          outcome = { err: 'resolved', allRequestsOver: requests.every((s) => s.destroyed) };
        },
        (err: unknown) => {
          outcome = { err, allRequestsOver: requests.every((s) => s.destroyed) };
        },
      );
      assert.ok(stream.writableLength > 0, 'the statement waits in the corked socket');
      const t0 = performance.now();
      scope.cancel();
      // The server signals the idle backend, which drops the signal, then closes the request's
      // connection. Only then does the statement leave the client.
      await firstRequestOver;
      stream.uncork();
      // The connection is sequential: the backend runs pg_sleep(30) now, so seeing it idle again
      // once the caller has its answer means the statement was stopped in the server.
      await waitFor(
        'the statement to stop in the server (well before cleanupTimeoutMs)',
        async () => {
          if (outcome === undefined) return undefined;
          const b = (await backends(admin, name)).find((x) => x.pid === pid);
          return b?.state === 'idle' ? b : undefined;
        },
        cleanupTimeoutMs / 4,
      );
      const stoppedMs = performance.now() - t0;
      assert.equal(outcome!.err, scope.ctx.err, 'the caller gets ctx.err');
      assert.ok(outcome!.allRequestsOver, 'every cancel request was over before the caller got its answer (and before the health check)');
      assert.ok(requests.length >= 2, `the dropped cancel request was sent again (${requests.length} sent)`);
      // The same connection runs the next statement.
      assert.equal((await c.query(background(), 'SELECT pg_backend_pid() AS pid')).rows[0].pid, pid);
      t.diagnostic(`caller answered and backend idle ${stoppedMs.toFixed(1)} ms after cancel(); ${requests.length} cancel requests`);
    } finally {
      diagnostics_channel.unsubscribe('net.client.socket', onSocket);
      await client.end();
    }
  });

  test('a cancel that arrives as its statement finishes never hits the next statement', async () => {
    const client = new pg.Client({ connectionString: database!.connectionString, application_name: `${app}-race` });
    client.on('error', () => {});
    await client.connect();
    const c = wrapClient(client);
    try {
      let cancelledBeforeResult = 0;
      for (let i = 0; i < 200; i++) {
        const scope = withCancel(background());
        // A statement of 0–2 ms, cancelled 0–2 ms after it was sent: the cancel often reaches the
        // server just as the statement completes, when the next one is about to be sent.
        const first = c.query(scope.ctx, 'SELECT pg_sleep($1::float8 / 1000)', [i % 3]).then(
          () => false,
          () => true,
        );
        // Long enough that a cancel signal delivered late (a CancelRequest takes a few ms: the
        // server forks for it) would land on it.
        const next = c.query(background(), 'SELECT $1::int AS i, pg_sleep(0.01)', [i]);
        setTimeout(() => scope.cancel(), i % 2);
        if (await first) cancelledBeforeResult++;
        assert.equal((await next).rows[0].i, i, `statement ${i} after a cancel`);
        scope.cancel();
      }
      assert.ok(cancelledBeforeResult > 0, 'some cancels landed while the first statement ran');
    } finally {
      await client.end();
    }
  });

  test('exploreCancellation: db.query cancelled at every point leaves the pool at rest', async () => {
    const result = await exploreCancellation(
      async (ctx) => {
        await db.query(ctx, 'SELECT pg_sleep(0.02)');
        return db.transaction(ctx, async (tx) => {
          await tx.query(ctx, 'SELECT pg_sleep(0.02)');
          return tx.savepoint(ctx, (sp) => sp.query(ctx, 'SELECT 1'));
        });
      },
      {
        timeoutMs: 10_000,
        graceMs: 1_000, // a cancel takes a few ms (the server forks for it); leave room on a loaded machine
        invariant: async () => {
          assert.deepEqual(poolAtRest(pool), { checkedOut: 0, waiting: 0 });
          await waitNoneActive(admin, app);
          return true;
        },
      },
    );
    assert.deepEqual(result.failures, []);
    assert.ok(result.points >= 3, `explored ${result.points} points`);
  });

  test('every call is reported to the core hooks and settled exactly once', async () => {
    const started = new Map<object, string>();
    const settled: Array<{ label: string; failed: boolean }> = [];
    const unsubscribe = subscribe({
      operationStarted: (op) => {
        started.set(op, op.label);
      },
      operationSettled: (op, failed) => {
        assert.ok(started.delete(op), `${op.label} settled twice or never started`);
        settled.push({ label: op.label, failed });
      },
    });
    try {
      await db.query(background(), 'SELECT 1');
      await db.query(background(), 'SELECT 1/0').catch(() => {});
      const ended = withCancel(background());
      ended.cancel();
      await db.query(ended.ctx, 'SELECT 1').catch(() => {});
      const scope = withCancel(background());
      const p = db.query(scope.ctx, 'SELECT pg_sleep(30) /* hooks */');
      await waitActive(admin, app, 'hooks');
      scope.cancel();
      await p.catch(() => {});
      await db.transaction(background(), async (tx) => {
        await tx.query(background(), 'SELECT 1');
        await tx.savepoint(background(), (sp) => sp.query(background(), 'SELECT 1'));
      });
    } finally {
      unsubscribe();
    }
    assert.equal(started.size, 0, 'nothing left unsettled');
    assert.deepEqual(
      settled.map((x) => `${x.label}:${x.failed ? 'failed' : 'ok'}`),
      [
        'pg.query:ok',
        'pg.query:failed',
        'pg.query:failed',
        'pg.query:failed',
        'pg.query:ok',
        'pg.query:ok',
        'pg.savepoint:ok',
        'pg.transaction:ok',
      ],
    );
  });

  test('isContextError covers every cancellation this package reports', async () => {
    const scope = withTimeout(background(), 1);
    const err = await db.query(scope.ctx, 'SELECT pg_sleep(1)').catch((e: unknown) => e);
    assert.ok(isContextError(err));
    scope.cancel();
  });
});
