// A ctx-aware query helper that also sets node-postgres' own query_timeout: two clocks.
import type { Context } from '@ctxkit/core';
import type { QueryResultRow } from 'pg';

interface Db {
  query<R extends QueryResultRow>(ctx: Context, q: { text: string; values?: unknown[]; query_timeout?: number }): Promise<{ rows: R[] }>;
}

export async function monthlyTotals(ctx: Context, db: Db, year: number): Promise<Array<{ month: number; total: string }>> {
  const { rows } = await db.query<{ month: number; total: string }>(ctx, {
    text: 'select extract(month from created_at)::int as month, sum(cents)::text as total from orders where extract(year from created_at) = $1 group by 1 order by 1',
    values: [year],
    query_timeout: 10_000, // expect: no-double-timeout
  });
  return rows;
}
