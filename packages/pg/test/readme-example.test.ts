// The README's example, run as a test so it stays true.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
  // ---- example start ----
  const pool = new pg.Pool({ connectionString: database!.connectionString, max: 4 });
  const db = wrapPool(pool);

  // A schema of its own: CREATE SCHEMA fails if the name is taken, so nothing of yours is touched.
  const schema = `ctxkit_example_${process.pid}_${Date.now()}`;
  await db.query(background(), `CREATE SCHEMA ${schema}`);
  const accounts = `${schema}.accounts`;
  await db.query(background(), `CREATE TABLE ${accounts} (id int PRIMARY KEY, balance int)`);
  await db.query(background(), `INSERT INTO ${accounts} VALUES (1, 100), (2, 0)`);

  // A request with a 2-second budget: every statement below stops in the server when it runs out.
  const request = withTimeout(background(), 2_000);
  try {
    await db.transaction(request.ctx, async (tx) => {
      await tx.query(request.ctx, `UPDATE ${accounts} SET balance = balance - 10 WHERE id = 1`);
      await tx.savepoint(request.ctx, async (sp) => {
        await sp.query(request.ctx, `UPDATE ${accounts} SET balance = balance + 10 WHERE id = 2`);
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

  const { rows } = await db.query(background(), `SELECT id, balance FROM ${accounts} ORDER BY id`);
  log(JSON.stringify(rows)); // [{"id":1,"balance":90},{"id":2,"balance":10}]
  await db.query(background(), `DROP SCHEMA ${schema} CASCADE`); // only what this example created
  await pool.end();
  // ---- example end ----
  assert.deepEqual(lines, ['stopped: AbortError', '[{"id":1,"balance":90},{"id":2,"balance":10}]']);
  const check = new pg.Client({ connectionString: database!.connectionString });
  await check.connect();
  try {
    const left = await check.query('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [schema]);
    assert.equal(left.rows[0].n, 0, 'the example dropped the schema it created, and nothing else');
  } finally {
    await check.end();
  }
  await database!.stop();
});

test("the README's example is this test's code, and never drops or truncates a table it did not create", () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Example')))![1]!;
  const here = readFileSync(new URL(import.meta.url), 'utf8');
  const ours = here.slice(here.indexOf('// ---- example start ----\n') + 28, here.indexOf('  // ---- example end ----'));
  const normalise = (s: string): string =>
    s
      .split('\n')
      .map((l) => l.replace(/^ {2}/, ''))
      .join('\n')
      .replace(/database!\./g, 'database.')
      .replace(/\blog\(/g, 'console.log(');
  const readmeBody = block.slice(block.indexOf('const pool'), block.indexOf('await database.stop();'));
  assert.equal(normalise(ours).trim(), readmeBody.trim());
  assert.doesNotMatch(block, /DROP TABLE|TRUNCATE|DELETE FROM/i);
  assert.match(block, /CREATE SCHEMA \$\{schema\}`/); // no IF NOT EXISTS: an existing schema is never reused
});
