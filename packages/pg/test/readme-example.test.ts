// The README's example, run as a test so it stays true.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { background, isContextError, withCancel, withTimeout } from '@ctxkit/core';
import { leakCheckAfterAll } from '@ctxkit/testing';
import { wrapPool } from '@ctxkit/pg';
import { openTestDatabase } from './helpers.js';

const database = await openTestDatabase('@ctxkit/pg README example');
leakCheckAfterAll(after);

test('README example', { skip: database === undefined ? 'no PostgreSQL (see the line above)' : false }, async () => {
  const lines: string[] = [];
  const log = (s: string): void => {
    lines.push(s);
  };
  const table = `readme_accounts_${process.pid}`;
  // ---- example start ----
  const pool = new pg.Pool({ connectionString: database!.connectionString, max: 4 });
  const db = wrapPool(pool);

  await db.query(background(), `DROP TABLE IF EXISTS ${table}`);
  await db.query(background(), `CREATE TABLE ${table} (id int PRIMARY KEY, balance int)`);
  await db.query(background(), `INSERT INTO ${table} VALUES (1, 100), (2, 0)`);

  // A request with a 2-second budget: every statement below stops in the server when it runs out.
  const request = withTimeout(background(), 2_000);
  try {
    await db.transaction(request.ctx, async (tx) => {
      await tx.query(request.ctx, `UPDATE ${table} SET balance = balance - 10 WHERE id = 1`);
      await tx.savepoint(request.ctx, async (sp) => {
        await sp.query(request.ctx, `UPDATE ${table} SET balance = balance + 10 WHERE id = 2`);
      });
    });
  } finally {
    request.cancel();
  }

  // The caller goes away while a slow statement runs: the backend stops, the promise rejects with ctx.err.
  const client = withCancel(background());
  const slow = db.query(client.ctx, 'SELECT pg_sleep(30)');
  setTimeout(() => client.cancel(), 50);
  try {
    await slow;
  } catch (e) {
    log(isContextError(e) ? `stopped: ${(e as Error).name}` : `failed: ${String(e)}`); // stopped: AbortError
  }

  const { rows } = await db.query(background(), `SELECT id, balance FROM ${table} ORDER BY id`);
  log(JSON.stringify(rows)); // [{"id":1,"balance":90},{"id":2,"balance":10}]
  await db.query(background(), `DROP TABLE ${table}`);
  await pool.end();
  // ---- example end ----
  assert.deepEqual(lines, ['stopped: AbortError', '[{"id":1,"balance":90},{"id":2,"balance":10}]']);
  await database!.stop();
});
