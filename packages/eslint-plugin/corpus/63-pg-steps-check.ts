// A multi-step import over node-postgres that checks the context between statements.
import type { Pool } from 'pg';
import type { Context } from '@ctxkit/core';

export async function importRows(ctx: Context, pool: Pool, rows: Array<[string, number]>): Promise<number> {
  const client = await pool.connect();
  let n = 0;
  try {
    await client.query('begin');
    for (const [name, score] of rows) {
      ctx.throwIfDone();
      await client.query('insert into scores(name, score) values ($1, $2)', [name, score]);
      n++;
    }
    await client.query('commit');
    return n;
  } catch (e) {
    await client.query('rollback');
    throw e;
  } finally {
    client.release();
  }
}
