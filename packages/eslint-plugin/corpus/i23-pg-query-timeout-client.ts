// set: independent
// Per-tenant database connection opened for a report: the client gets pg's own query_timeout
// while the statements already run under the request's context (and its deadline).
import pg from 'pg';
import type { Context } from '@ctxkit/core';
import { wrapClient } from '@ctxkit/pg';

export async function tenantReport(ctx: Context, connectionString: string, since: Date): Promise<unknown[]> {
  const client = new pg.Client({
    connectionString,
    query_timeout: 15_000, // expect: no-double-timeout
  });
  await client.connect();
  try {
    const db = wrapClient(client);
    const { rows } = await db.query(ctx, 'SELECT day, count(*) FROM events WHERE at >= $1 GROUP BY day ORDER BY day', [since]);
    return rows;
  } finally {
    await client.end();
  }
}
