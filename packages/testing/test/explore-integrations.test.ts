// The explorer over real integrations: a call that fails fast with ctx.err on the cancelled
// context did no work — the explorer must not blame fn for it. PostgreSQL on loopback (or the
// embedded one, as @ctxkit/pg's own tests start it), and ctxFetch against a local http server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { sleep, withoutCancel } from '@ctxkit/core';
import { ctxFetch } from '@ctxkit/http';
import { wrapPool } from '@ctxkit/pg';
import { startTestDatabase, type TestDatabase } from '@ctxkit/pg/testing';
import { assertCancellationSafe, leakCheckAfterAll } from '@ctxkit/testing';

leakCheckAfterAll(after);

async function openDatabase(): Promise<TestDatabase | undefined> {
  try {
    return await startTestDatabase();
  } catch (e) {
    if (process.env['CI'] === 'true') throw e;
    process.stderr.write(`\n!!!!!!!! explorer over pg: SKIPPED — ${e instanceof Error ? e.message : String(e)}\n\n`);
    return undefined;
  }
}

const database = await openDatabase();
const app = `ctxkit-testing-explore-${process.pid}`;

describe('explorer over @ctxkit/pg', { skip: database === undefined ? 'no PostgreSQL (see the line above)' : false }, () => {
  let pool: pg.Pool;
  let admin: pg.Pool;
  before(async () => {
    pool = new pg.Pool({ connectionString: database!.connectionString, application_name: app, max: 1 });
    admin = new pg.Pool({ connectionString: database!.connectionString, max: 1 });
    await pool.query('SELECT 1'); // warm up: every run makes the same points
  });
  after(async () => {
    await pool.end();
    await admin.end();
  });

  test('a cancel landing during COMMIT: the transaction resolves, the next query fails fast — cancellation-safe', async () => {
    const db = wrapPool(pool);
    const outcomes: string[] = [];
    const result = await assertCancellationSafe(
      async (ctx) => {
        try {
          await db.transaction(ctx, async (tx) => {
            await tx.query(ctx, 'SELECT 1');
          });
          outcomes.push('committed');
        } catch (e) {
          outcomes.push('rolled back');
          throw e;
        }
        await db.query(ctx, 'SELECT 1');
      },
      {
        invariant: async () => {
          // Nothing left running in the server, the pool at rest.
          const r = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'`, [
            app,
          ]);
          return r.rows[0].n === 0 && pool.waitingCount === 0 && pool.idleCount === pool.totalCount;
        },
      },
    );
    assert.ok(result.points >= 3, `points: ${result.points}`);
    // Some cancelled run committed and then met the fail-fast query: the case under test.
    const cancelledCommits = outcomes.slice(1).filter((o) => o === 'committed').length;
    assert.ok(cancelledCommits >= 1, `outcomes: ${outcomes.join(', ')}`);
  });
});

describe('explorer over ctxFetch', () => {
  let server: Server;
  let url: string;
  let requests = 0;
  before(async () => {
    server = createServer((req, res) => {
      requests++;
      const t = setTimeout(() => res.end('ok'), 5);
      req.on('close', () => clearTimeout(t));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('a cancel landing during cleanup on withoutCancel: the next ctxFetch fails fast without a request', async () => {
    const reached: boolean[] = [];
    const result = await assertCancellationSafe(async (ctx) => {
      await sleep(withoutCancel(ctx), 1); // cleanup that finishes although ctx ends meanwhile
      const before = requests;
      try {
        const r = await ctxFetch(ctx, url);
        await r.text();
      } finally {
        reached.push(requests > before);
      }
    });
    assert.ok(result.points >= 2, `points: ${result.points}`);
    // Run 1 cancels during the cleanup sleep: its ctxFetch failed fast, sending nothing.
    assert.equal(reached[0], true, 'run 0 made its request');
    assert.equal(reached[1], false, 'run 1: ctxFetch failed fast, no request reached the server');
  });
});
